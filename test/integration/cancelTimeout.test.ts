import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobState } from '../../src/job';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

describe('ending a job early', () => {
  const fixture = useTestStack();

  it('cancel stops the running container within 5 seconds; the job ends Cancelled and is cleaned up', async () => {
    const id = await submitJob(fixture.stack.apiUrl, {
      name: 'cancel me',
      steps: [
        { id: 1, name: 'long', image: images.busybox, script: 'sleep 120' },
        { id: 2, name: 'after', image: images.busybox, script: 'true' },
      ],
    });
    await inspectRunningStep(id, 0);
    const running = await request<JobState>(`${fixture.stack.apiUrl}/jobs/${id}`);
    assert.equal(running.body.status, 'Running');
    const asked = Date.now();
    await fixture.stack.client.workflow.getHandle(id).cancel();
    const job = await waitForEnd(fixture.stack.apiUrl, id, 15_000);
    const tookMs = Date.now() - asked;
    assert.equal(job.status, 'Cancelled');
    assert.deepEqual(job.steps.map((s) => s.status), ['Cancelled', 'Skipped']);
    assert.ok(tookMs < 5000, `cancel took ${tookMs} ms`);
    await assertNoLeaks([id]);
    assert.equal((await fixture.stack.client.workflow.getHandle(id).describe()).status.name, 'CANCELLED');
  });

  it('a job over its timeout_seconds ends TimedOut, its container killed and removed', async () => {
    const id = await submitJob(fixture.stack.apiUrl, { name: 'too slow', timeout_seconds: 2, steps: [{ id: 1, name: 'slow', image: images.busybox, script: 'sleep 120' }] });
    const job = await waitForEnd(fixture.stack.apiUrl, id, 20_000);
    assert.equal(job.status, 'TimedOut');
    assert.equal(job.reason, 'job timed out after 2 s');
    assert.equal(job.steps[0]?.status, 'TimedOut');
    await assertNoLeaks([id]);
  });

  it('a step over its own timeout_seconds is killed; the job ends TimedOut', async () => {
    const id = await submitJob(fixture.stack.apiUrl, {
      name: 'slow step',
      steps: [
        { id: 1, name: 'slow', image: images.busybox, script: 'echo start; sleep 120', timeout_seconds: 1 },
        { id: 2, name: 'never', image: images.busybox, script: 'true' },
      ],
    });
    const job = await waitForEnd(fixture.stack.apiUrl, id, 20_000);
    assert.equal(job.status, 'TimedOut');
    assert.deepEqual(job.steps.map((s) => s.status), ['TimedOut', 'Skipped']);
    assert.equal(job.steps[0]?.outputTail?.trim(), 'start');
    await assertNoLeaks([id]);
  });
});
