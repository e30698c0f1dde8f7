import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { useTestStack } from '../helpers/stack';
import { activityAttempts } from '../helpers/temporal';
import { images } from '../helpers/testEnv';

describe('a job whose step fails', () => {
  const fixture = useTestStack();

  it('ends Failed, names the step and exit code, and skips the steps after it', async () => {
    const id = await submitJob(fixture.stack.apiUrl, {
      name: 'fails',
      steps: [
        { id: 1, name: 'ok', image: images.busybox, script: 'true' },
        { id: 2, name: 'boom', image: images.busybox, script: 'echo about to fail; exit 3' },
        { id: 3, name: 'never', image: images.busybox, script: 'echo should not run' },
      ],
    });
    const job = await waitForEnd(fixture.stack.apiUrl, id);
    assert.equal(job.status, 'Failed');
    assert.equal(job.reason, 'step "boom" exited with code 3');
    assert.deepEqual(job.steps.map((s) => s.status), ['Succeeded', 'Failed', 'Skipped']);
    assert.equal(job.steps[1]?.exitCode, 3);
    assert.equal(job.steps[1]?.outputTail?.trim(), 'about to fail');
    await assertNoLeaks([id]);
    const description = await fixture.stack.client.workflow.getHandle(id).describe();
    assert.equal(description.status.name, 'FAILED');
    // A user's failure is a result, never retried: every activity ran exactly once (2 steps + cleanup).
    assert.deepEqual(await activityAttempts(fixture.stack.client, id), [1, 1, 1]);
  });

  it('goes on past a failing step marked continue_on_error', async () => {
    const id = await submitJob(fixture.stack.apiUrl, {
      name: 'continues',
      steps: [
        { id: 1, name: 'allowed to fail', image: images.busybox, script: 'exit 1', continue_on_error: true },
        { id: 2, name: 'runs anyway', image: images.busybox, script: 'echo ran' },
      ],
    });
    const job = await waitForEnd(fixture.stack.apiUrl, id);
    assert.equal(job.status, 'Succeeded');
    assert.deepEqual(job.steps.map((s) => s.status), ['Failed', 'Succeeded']);
    await assertNoLeaks([id]);
  });

  it('fails fast, naming the image, when the image does not exist anywhere', async () => {
    const id = await submitJob(fixture.stack.apiUrl, { name: 'no image', steps: [{ id: 1, name: 'ghost', image: '127.0.0.1:1/nope/ghost:1', script: 'true' }] });
    const job = await waitForEnd(fixture.stack.apiUrl, id, 60_000);
    assert.equal(job.status, 'Failed');
    assert.match(job.reason ?? '', /127\.0\.0\.1:1\/nope\/ghost:1/);
    assert.deepEqual(await activityAttempts(fixture.stack.client, id), [1, 1], 'a failed pull is not retried');
    await assertNoLeaks([id]);
  });
});
