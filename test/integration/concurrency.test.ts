import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobState } from '../../src/job';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { startTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

async function runTwo(concurrency: string): Promise<[JobState, JobState]> {
  const stack = await startTestStack({ CONCURRENCY: concurrency });
  try {
    const job = { name: 'sleeper', steps: [{ id: 1, name: 'sleep', image: images.busybox, script: 'sleep 1.5' }] };
    const ids = await Promise.all([submitJob(stack.apiUrl, job), submitJob(stack.apiUrl, job)]);
    const jobs = await Promise.all(ids.map((id) => waitForEnd(stack.apiUrl, id)));
    await assertNoLeaks(ids);
    return [jobs[0]!, jobs[1]!];
  } finally {
    await stack.stop();
  }
}

function overlap(a: JobState, b: JobState): boolean {
  const [sa, fa, sb, fb] = [a.steps[0]?.startedAt, a.steps[0]?.finishedAt, b.steps[0]?.startedAt, b.steps[0]?.finishedAt].map((t) => Date.parse(t ?? ''));
  return sa! < fb! && sb! < fa!;
}

describe('CONCURRENCY', () => {
  it('1 runs one step at a time on a worker', async () => {
    const [a, b] = await runTwo('1');
    assert.deepEqual([a.status, b.status], ['Succeeded', 'Succeeded']);
    assert.equal(overlap(a, b), false, `steps overlapped: ${JSON.stringify([a.steps[0], b.steps[0]])}`);
  });

  it('2 runs two steps at once', async () => {
    const [a, b] = await runTwo('2');
    assert.equal(overlap(a, b), true, `steps did not overlap: ${JSON.stringify([a.steps[0], b.steps[0]])}`);
  });
});
