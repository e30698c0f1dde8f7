import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

/** Jobs that try to harm the host or outlive their welcome: each is contained, and the next job runs. */
describe('hostile jobs', () => {
  const fixture = useTestStack({ STEP_TIMEOUT_SECONDS: '4', DOCKER_PIDS_LIMIT: '64' });
  const run = async (name: string, script: string) => {
    const id = await submitJob(fixture.stack.apiUrl, { name, steps: [{ id: 1, name, image: images.busybox, script }] }, fixture.jobIds);
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

  it('a fork bomb stops at DOCKER_PIDS_LIMIT processes, and the step timeout ends it', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      { name: 'fork bomb', steps: [{ id: 1, name: 'bomb', image: images.busybox, script: 'bomb() { bomb | bomb & }; bomb; sleep 100000' }] },
      fixture.jobIds,
    );
    const info = await inspectRunningStep(id, 0);
    assert.equal(info.HostConfig.PidsLimit, 64, 'the cap applies to a step that asked for nothing');
    const job = await waitForEnd(fixture.stack.apiUrl, id, 120_000);
    assert.equal(job.status, 'TimedOut', JSON.stringify(job));
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
