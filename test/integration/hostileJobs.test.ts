import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

/** Jobs that try to harm the host or outlive their welcome: each is contained, and the next job runs. */
describe('hostile jobs', () => {
  const fixture = useTestStack({ STEP_TIMEOUT_SECONDS: '4', DOCKER_PIDS_LIMIT: '64', JOB_STORAGE_LIMIT: '20M', JOB_STORAGE_CHECK_SECONDS: '1' });
  const run = async (name: string, script: string, step: Record<string, unknown> = {}) => {
    const id = await submitJob(fixture.stack.apiUrl, { name, steps: [{ id: 1, name, image: images.busybox, script, ...step }] }, fixture.jobIds);
    return { id, job: await waitForEnd(fixture.stack.apiUrl, id, 120_000) };
  };
  const nextRunsNormally = async () => {
    const { id, job } = await run('after a hostile job', 'echo fine');
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail?.trim(), 'fine');
    await assertNoLeaks([id]);
  };

  it('a step that sleeps forever, with no timeout set, is ended by STEP_TIMEOUT_SECONDS', async () => {
    const { id, job } = await run('sleeps forever', 'echo going to sleep; sleep 100000');
    assert.equal(job.status, 'TimedOut', JSON.stringify(job));
    assert.equal(job.steps[0]?.status, 'TimedOut');
    assert.equal(job.steps[0]?.outputTail?.trim(), 'going to sleep');
    await assertNoLeaks([id]);
    await nextRunsNormally();
  });

  it('a fork bomb stops at DOCKER_PIDS_LIMIT processes, and the step timeout (or its own shell, failing to fork) ends it', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      { name: 'fork bomb', steps: [{ id: 1, name: 'bomb', image: images.busybox, script: 'bomb() { bomb | bomb & }; bomb; sleep 100000' }] },
      fixture.jobIds,
    );
    const info = await inspectRunningStep(id, 0);
    assert.equal(info.HostConfig.PidsLimit, 64, 'the cap applies to a step that asked for nothing');
    const job = await waitForEnd(fixture.stack.apiUrl, id, 120_000);
    assert.ok(job.status === 'TimedOut' || (job.status === 'Failed' && job.steps[0]?.exitCode === 2), JSON.stringify(job));
    await assertNoLeaks([id]);
    await nextRunsNormally();
  });

  it("a step that writes to /shared without end is killed past JOB_STORAGE_LIMIT, before it fills the host's disk", async () => {
    // A megabyte every 50 ms, for ever; a timeout of its own, so only the storage limit can end it.
    const { id, job } = await run('fills the disk', 'i=0; while true; do head -c 1048576 /dev/zero > /shared/f$i; i=$((i+1)); sleep 0.05; done', { timeout_seconds: 120 });
    assert.equal(job.status, 'Failed', JSON.stringify(job));
    assert.match(job.steps[0]?.reason ?? '', /^step "fills the disk" was killed: the job's \/shared holds \d+ bytes, over its limit of 20971520 \(JOB_STORAGE_LIMIT\)$/);
    await assertNoLeaks([id]);
    await nextRunsNormally();
  });

  it('a step looking for the Docker socket, host credentials or host mounts finds none', async () => {
    const script = [
      'for f in /var/run/docker.sock /run/docker.sock /root/.docker/config.json /root/.kube/config /etc/shadow-host; do [ -e "$f" ] && echo "found $f"; done',
      // Mounts other than the root filesystem, /shared and the kernel's own pseudo file systems.
      "grep -vE ' (/|/shared|/proc[^ ]*|/sys[^ ]*|/dev[^ ]*|/etc/(hosts|hostname|resolv.conf)) ' /proc/mounts | sed 's/^/mount: /'",
      'env | grep -iE "AUTH_KEY|HADES_ENCRYPTION|TEMPORAL_|NATS_" | sed "s/^/env: /"',
      'echo checked',
    ].join('\n');
    const { id, job } = await run('snoops', script);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail?.trim(), 'checked', 'nothing of the host found');
    await assertNoLeaks([id]);
  });
});
