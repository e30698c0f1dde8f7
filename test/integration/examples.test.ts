import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helloWorldJob, sharedVolumeJob } from '../fixtures/examples';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';
import { jobSearchAttributes } from '../../src/workflows/searchAttributes';

// The walking skeleton end to end: HTTP → JetStream → bridge → Temporal workflow → Docker.
describe('the Hades README examples over HTTP', () => {
  const fixture = useTestStack();
  const jobIds = fixture.jobIds;

  it('runs the one-step Hello World job to Succeeded', async () => {
    const res = await request<{ message: string; job_id: string }>(`${fixture.stack.apiUrl}/build`, { method: 'POST', json: helloWorldJob() });
    assert.equal(res.status, 200);
    assert.equal(res.body.message, 'Successfully enqueued job');
    assert.match(res.body.job_id, /^[0-9a-f-]{36}$/);
    jobIds.push(res.body.job_id);

    const job = await waitForEnd(fixture.stack.apiUrl, res.body.job_id);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.name, 'Example Job');
    assert.equal(job.steps.length, 1);
    assert.equal(job.steps[0]?.status, 'Succeeded');
    assert.equal(job.steps[0]?.exitCode, 0);
    assert.equal(job.steps[0]?.outputTail?.trim(), 'Hello, Hades!');
    await assertNoLeaks(jobIds);

    // Workflow id = job id: what the Temporal Web UI looks the job up by, with its name, status
    // and priority as search attributes and each step's activity summarised.
    const handle = fixture.stack.client.workflow.getHandle(res.body.job_id);
    await handle.result(); // closed once its end is said on the status feed too, after its state
    const description = await handle.describe();
    assert.equal(description.type, 'buildJob');
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.typedSearchAttributes.get(jobSearchAttributes.status), 'Succeeded');
    assert.equal(description.typedSearchAttributes.get(jobSearchAttributes.name), 'Example Job');
    assert.equal(description.typedSearchAttributes.get(jobSearchAttributes.priority), 1);
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStep')
      .map((e) => JSON.parse(Buffer.from(e.userMetadata?.summary?.data ?? new Uint8Array()).toString('utf8')) as string);
    assert.deepEqual(summaries, [`step 1 "Hello World" (${images.busybox})`]);
  });

  it('runs the three-step shared-volume job; the third step prints all three lines', async () => {
    const res = await request<{ job_id: string }>(`${fixture.stack.apiUrl}/build`, { method: 'POST', json: sharedVolumeJob() });
    assert.equal(res.status, 200);
    jobIds.push(res.body.job_id);
    const job = await waitForEnd(fixture.stack.apiUrl, res.body.job_id);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.deepEqual(
      job.steps.map((s) => s.status),
      ['Succeeded', 'Succeeded', 'Succeeded'],
    );
    assert.deepEqual(job.steps[2]?.outputTail?.trim().split('\n'), ['Hello from step 1', 'Hello from step 2', 'Hello from step 3']);
    assert.ok(job.startedAt && job.finishedAt && job.durationMs !== undefined);
    await assertNoLeaks(jobIds);
  });
});
