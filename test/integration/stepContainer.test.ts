import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { docker } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { uniqueSuffix, useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

const MiB = 1024 * 1024;

describe('what a step container gets', () => {
  const fixture = useTestStack();
  const jobIds = fixture.jobIds;

  it('runs under the limits it asked for, visible in docker inspect, hardened, and without network for `none`', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      {
        name: 'limits',
        steps: [
          {
            id: 1,
            name: 'limited',
            image: images.busybox,
            cpu_limit: 0.5,
            memory_limit: '64M',
            memory_swap: '128M',
            pids_limit: 50,
            network: 'none',
            script: 'ls /sys/class/net; sleep 2',
          },
        ],
      },
      jobIds,
    );
    const info = await inspectRunningStep(id, 0);
    const host = info.HostConfig;
    assert.equal(host.NanoCpus, 500_000_000);
    assert.equal(host.Memory, 64 * MiB);
    assert.equal(host.MemorySwap, 128 * MiB);
    assert.equal(host.PidsLimit, 50);
    assert.equal(host.NetworkMode, 'none');
    assert.deepEqual(host.SecurityOpt, ['no-new-privileges']);
    assert.equal(host.Privileged, false);
    assert.deepEqual(info.Mounts.map((m) => m.Destination), ['/shared'], 'only the job volume is mounted (no Docker socket)');
    const job = await waitForEnd(fixture.stack.apiUrl, id);
    assert.equal(job.status, 'Succeeded');
    assert.equal(job.steps[0]?.outputTail?.trim(), 'lo', 'network none: only loopback');
  });

  it("runs the image's own entrypoint and command when a step has no script", async () => {
    const repo = `hades-test/cmd-${uniqueSuffix()}`;
    const base = await docker.createContainer({ Image: images.busybox });
    await base.commit({ repo, tag: '1', changes: ['CMD ["echo", "image default command"]'] });
    await base.remove();
    try {
      const id = await submitJob(fixture.stack.apiUrl, { name: 'no script', steps: [{ id: 1, name: 'default', image: `${repo}:1` }] }, jobIds);
      const job = await waitForEnd(fixture.stack.apiUrl, id);
      assert.equal(job.status, 'Succeeded');
      assert.equal(job.steps[0]?.outputTail?.trim(), 'image default command');
    } finally {
      await docker.getImage(`${repo}:1`).remove();
    }
  });
});

describe('global caps (DOCKER_CPU_LIMIT, DOCKER_MEMORY_LIMIT)', () => {
  const fixture = useTestStack({ DOCKER_CPU_LIMIT: '1', DOCKER_MEMORY_LIMIT: '96M' });
  const jobIds = fixture.jobIds;

  it('apply to steps that ask for nothing or for more; a step may ask for less', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      {
        name: 'caps',
        steps: [
          { id: 1, name: 'asks nothing', image: images.busybox, script: 'sleep 1' },
          { id: 2, name: 'asks more', image: images.busybox, cpu_limit: 4, memory_limit: '2G', script: 'sleep 1' },
          { id: 3, name: 'asks less', image: images.busybox, cpu_limit: 0.25, memory_limit: '32M', script: 'sleep 1' },
        ],
      },
      jobIds,
    );
    const seen = [];
    for (const index of [0, 1, 2]) {
      const info = await inspectRunningStep(id, index);
      seen.push([info.HostConfig.NanoCpus, info.HostConfig.Memory]);
    }
    assert.deepEqual(seen, [
      [1e9, 96 * MiB],
      [1e9, 96 * MiB],
      [0.25e9, 32 * MiB],
    ]);
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id)).status, 'Succeeded');
  });
});

describe('DOCKER_SCRIPT_EXECUTOR', () => {
  const fixture = useTestStack({ DOCKER_SCRIPT_EXECUTOR: '/bin/bash -c' });

  it('hands each script to the configured shell, as Hades does', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      { name: 'bash', steps: [{ id: 1, name: 'bashism', image: images.debian, script: 'words=(a b c); echo "${#words[@]} via $0"' }] },
      fixture.jobIds,
    );
    const job = await waitForEnd(fixture.stack.apiUrl, id);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail?.trim(), '3 via /bin/bash');
  });
});
