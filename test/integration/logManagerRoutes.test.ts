import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { submitJob, waitForLogLine } from '../helpers/jobs';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

// The routes the current Hades's log manager serves, as its clients read them.
describe("the current Hades's log manager routes", () => {
  const fixture = useTestStack({ AUTH_KEY: 'log-manager-key' });
  const auth = { authorization: `Basic ${Buffer.from('hades:log-manager-key').toString('base64')}` };
  const job = (name: string, step: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name, ...extra, steps: [{ id: 1, name, image: images.busybox, ...step }] });
  const status = (id: string) => request<{ status?: string; error?: unknown }>(`${fixture.stack.apiUrl}/jobs/${id}/status`, { headers: auth });

  it('GET /jobs/{id}/status answers in its five words: Cancelled is Stopped, TimedOut is Failed', async () => {
    const api = fixture.stack.apiUrl;
    const ok = await submitJob(api, job('ok', { script: 'true' }), fixture.jobIds, auth);
    const bad = await submitJob(api, job('bad', { script: 'exit 3' }), fixture.jobIds, auth);
    const slow = await submitJob(api, job('slow', { script: 'sleep 30' }, { timeout_seconds: 1 }), fixture.jobIds, auth);
    const stopped = await submitJob(api, job('stopped', { script: 'echo started; sleep 60' }), fixture.jobIds, auth);
    await waitForLogLine(api, stopped, 'started', 60_000, auth);
    assert.deepEqual((await status(stopped)).body, { status: 'Running' });
    assert.equal((await request(`${api}/jobs/${stopped}/cancel`, { method: 'POST', headers: auth })).status, 202);
    for (const id of [ok, bad, slow, stopped]) await waitForEnd(api, id, 60_000, auth);

    const answers = await Promise.all([ok, bad, slow, stopped].map(async (id) => status(id).then((r) => [r.status, r.body])));
    assert.deepEqual(answers, [
      [200, { status: 'Succeeded' }],
      [200, { status: 'Failed' }],
      [200, { status: 'Failed' }],
      [200, { status: 'Stopped' }],
    ]);
    await assertNoLeaks([ok, bad, slow, stopped]);
  });

  it('answers 404 with its own body for an unknown job, and needs the same credentials as /jobs', async () => {
    const unknown = await status('no-such-job');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'job not found: no-such-job');
    const anonymous = await request(`${fixture.stack.apiUrl}/jobs/no-such-job/status`);
    assert.equal(anonymous.status, 401);
  });

  it('GET /health answers {"status":"ok"}, open like /healthz', async () => {
    const res = await request<{ status: string }>(`${fixture.stack.apiUrl}/health`);
    assert.deepEqual([res.status, res.body], [200, { status: 'ok' }]);
  });
});
