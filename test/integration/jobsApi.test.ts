import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from 'nats';
import type { ErrorBody } from '../../src/api/errors';
import type { JobPage } from '../../src/api/deps';
import type { JobState } from '../../src/job';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { until } from '../helpers/nats';
import { readSse } from '../helpers/sse';
import { startTestStack, useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

const quick = (name: string, script = 'true') => ({ name, steps: [{ id: 1, name: 'quick', image: images.busybox, script }] });

describe('job routes', () => {
  const fixture = useTestStack();

  it('GET /jobs lists newest first, filters by status, and pages with a cursor', async () => {
    const api = fixture.stack.apiUrl;
    const ok1 = await submitJob(api, quick('list ok 1'), fixture.jobIds);
    await waitForEnd(api, ok1);
    const bad = await submitJob(api, quick('list bad', 'exit 1'), fixture.jobIds);
    await waitForEnd(api, bad);
    const ok2 = await submitJob(api, quick('list ok 2'), fixture.jobIds);
    await waitForEnd(api, ok2);

    const all = await request<JobPage>(`${api}/jobs`);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.jobs.map((j) => j.id).slice(0, 3), [ok2, bad, ok1]);
    assert.deepEqual(all.body.jobs.slice(0, 3).map((j) => j.status), ['Succeeded', 'Failed', 'Succeeded']);

    const failed = await request<JobPage>(`${api}/jobs?status=Failed`);
    assert.deepEqual(failed.body.jobs.map((j) => j.id), [bad]);

    const first = await request<JobPage>(`${api}/jobs?limit=2`);
    assert.deepEqual(first.body.jobs.map((j) => j.id), [ok2, bad]);
    assert.ok(first.body.nextCursor);
    const second = await request<JobPage>(`${api}/jobs?limit=2&cursor=${first.body.nextCursor}`);
    assert.deepEqual(second.body.jobs.map((j) => j.id), [ok1]);

    const wrong = await request<ErrorBody>(`${api}/jobs?status=Done&limit=0`);
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.body.error.fields?.map((f) => f.path).sort(), ['limit', 'status']);
  });

  it('POST /jobs/{id}/cancel answers 202 and the job ends Cancelled; again it answers 409; unknown 404', async () => {
    const api = fixture.stack.apiUrl;
    const id = await submitJob(api, quick('cancel via api', 'sleep 60'), fixture.jobIds);
    await inspectRunningStep(id, 0);
    const res = await request<{ message: string; job_id: string }>(`${api}/jobs/${id}/cancel`, { method: 'POST' });
    assert.equal(res.status, 202);
    assert.equal(res.body.job_id, id);
    const job = await waitForEnd(api, id, 15_000);
    assert.equal(job.status, 'Cancelled');
    await assertNoLeaks([id]);
    const again = await request<ErrorBody>(`${api}/jobs/${id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'job_finished');
    assert.match(again.body.error.message, /already ended \(Cancelled\)/);
    const unknown = await request<ErrorBody>(`${api}/jobs/nobody-submitted-this/cancel`, { method: 'POST' });
    assert.equal(unknown.status, 404);
  });

  it('never shows an ended job as Queued again once Temporal no longer keeps it (retention)', async () => {
    const { apiUrl, client, config } = fixture.stack;
    const id = await submitJob(apiUrl, quick('outlives its history'), fixture.jobIds);
    assert.equal((await waitForEnd(apiUrl, id)).status, 'Succeeded');
    // What the namespace's retention does to a closed workflow, done now.
    await client.workflowService.deleteWorkflowExecution({ namespace: config.TEMPORAL_NAMESPACE, workflowExecution: { workflowId: id } });
    await until(
      'the workflow to be gone',
      () =>
        client.workflow
          .getHandle(id)
          .describe()
          .then(
            () => false,
            () => true,
          ),
      // Deletion is a background task of the server: slow on a busy machine.
      120_000,
      250,
    );
    const res = await request<ErrorBody>(`${apiUrl}/jobs/${id}`);
    assert.equal(res.status, 410, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'job_expired');
    assert.match(res.body.error.message, /retention/);
  });

  it('GET /healthz and /readyz answer while Temporal and NATS are up', async () => {
    const health = await request<{ status: string }>(`${fixture.stack.apiUrl}/healthz`);
    assert.equal(health.status, 200);
    const ready = await request<{ status: string; checks: Record<string, boolean> }>(`${fixture.stack.apiUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { temporal: true, nats: true });
  });
});

describe('cancelling a job no bridge has started yet', () => {
  it('keeps it from ever running', async () => {
    const apiOnly = await startTestStack({ HADES_ROLES: 'api' });
    let rest;
    try {
      const id = await submitJob(apiOnly.apiUrl, quick('never runs', 'echo ran'));
      const res = await request(`${apiOnly.apiUrl}/jobs/${id}/cancel`, { method: 'POST' });
      assert.equal(res.status, 202);
      const queued = await request<JobState>(`${apiOnly.apiUrl}/jobs/${id}`);
      assert.equal(queued.body.status, 'Cancelled');
      // Its log stream has nothing to wait for: it ends at once, saying how the job ended.
      const events = await readSse(`${apiOnly.apiUrl}/jobs/${id}/logs/stream`, 20_000);
      assert.deepEqual(events.map((e) => e.event), ['end']);
      assert.equal((events[0]?.data as { status?: string }).status, 'Cancelled');

      // Now a bridge and a worker come up on the same queue: the message is consumed, nothing runs.
      rest = await startTestStack({ ...apiOnly.env, HADES_ROLES: 'bridge,worker' });
      const deadline = Date.now() + 5000;
      let pending = 1;
      while (pending > 0 && Date.now() < deadline) {
        const nc = await connect({ servers: apiOnly.config.NATS_URL });
        pending = (await (await nc.jetstreamManager()).consumers.info(apiOnly.config.NATS_JOB_STREAM, apiOnly.config.NATS_CONSUMER)).num_pending;
        await nc.close();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(pending, 0, 'the bridge consumed the submission');
      await assert.rejects(apiOnly.client.workflow.getHandle(id).describe(), /not found/i);
      assert.equal((await request<JobState>(`${apiOnly.apiUrl}/jobs/${id}`)).body.status, 'Cancelled');
    } finally {
      await rest?.stop();
      await apiOnly.stop();
    }
  });
});
