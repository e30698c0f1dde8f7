import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JobState } from '../../src/job';
import { assertNoLeaks, docker } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import type { TestStack } from '../helpers/stack';
import { startTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';
import { labels } from '../../src/activities/docker/names';

describe('ending a job early', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack?.stop();
  });

  async function submit(payload: unknown): Promise<string> {
    const res = await request<{ job_id: string }>(`${stack.apiUrl}/build`, { method: 'POST', json: payload });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.job_id;
  }

  async function waitForRunningContainer(id: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const running = await docker.listContainers({ filters: { label: [`${labels.job}=${id}`], status: ['running'] } });
      if (running.length > 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no running container for job ${id}`);
  }

  it('cancel stops the running container within 5 seconds; the job ends Cancelled and is cleaned up', async () => {
    const id = await submit({
      name: 'cancel me',
      steps: [
        { id: 1, name: 'long', image: images.busybox, script: 'sleep 120' },
        { id: 2, name: 'after', image: images.busybox, script: 'true' },
      ],
    });
    await waitForRunningContainer(id);
    const running = await request<JobState>(`${stack.apiUrl}/jobs/${id}`);
    assert.equal(running.body.status, 'Running');
    const asked = Date.now();
    await stack.client.workflow.getHandle(id).cancel();
    const job = await waitForEnd(stack.apiUrl, id, 15_000);
    const tookMs = Date.now() - asked;
    assert.equal(job.status, 'Cancelled');
    assert.deepEqual(job.steps.map((s) => s.status), ['Cancelled', 'Skipped']);
    assert.ok(tookMs < 5000, `cancel took ${tookMs} ms`);
    await assertNoLeaks([id]);
    assert.equal((await stack.client.workflow.getHandle(id).describe()).status.name, 'CANCELLED');
  });

  it('a job over its timeout_seconds ends TimedOut, its container killed and removed', async () => {
    const id = await submit({ name: 'too slow', timeout_seconds: 2, steps: [{ id: 1, name: 'slow', image: images.busybox, script: 'sleep 120' }] });
    const job = await waitForEnd(stack.apiUrl, id, 20_000);
    assert.equal(job.status, 'TimedOut');
    assert.equal(job.reason, 'job timed out after 2 s');
    assert.equal(job.steps[0]?.status, 'TimedOut');
    await assertNoLeaks([id]);
  });

  it('a step over its own timeout_seconds is killed; the job ends TimedOut', async () => {
    const id = await submit({
      name: 'slow step',
      steps: [
        { id: 1, name: 'slow', image: images.busybox, script: 'echo start; sleep 120', timeout_seconds: 1 },
        { id: 2, name: 'never', image: images.busybox, script: 'true' },
      ],
    });
    const job = await waitForEnd(stack.apiUrl, id, 20_000);
    assert.equal(job.status, 'TimedOut');
    assert.deepEqual(job.steps.map((s) => s.status), ['TimedOut', 'Skipped']);
    assert.equal(job.steps[0]?.outputTail?.trim(), 'start');
    await assertNoLeaks([id]);
  });
});
