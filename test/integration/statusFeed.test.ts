import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoLeaks } from '../helpers/docker';
import { request } from '../helpers/http';
import { submitJob, waitForLogLine } from '../helpers/jobs';
import { startTestStack, useTestStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import { watchStatusFeed } from '../helpers/statusFeed';
import type { FeedWatch } from '../helpers/statusFeed';
import { images, testEnv } from '../helpers/testEnv';
import { workerProcessRun } from '../helpers/workerProcess';

// The status feed, as a subscriber of the current Hades reads it: `hades.jobstatus.*`, the
// bare job id as payload, the reason in X-Hades-Reason; and this project's own JSON events.

const job = (name: string, script: string, extra: Record<string, unknown> = {}) => ({ name, ...extra, steps: [{ id: 1, name, image: images.busybox, script }] });

describe('the status feed', () => {
  const fixture = useTestStack();
  let feed: FeedWatch;
  before(async () => {
    feed = await watchStatusFeed(fixture.stack.config);
  });
  after(async () => feed.close());

  it('says Queued, Running, then the end of a succeeded, a failed, a timed-out and a cancelled job, with the reason of a failure', async () => {
    const api = fixture.stack.apiUrl;
    const ok = await submitJob(api, job('ok', 'true'), fixture.jobIds);
    const bad = await submitJob(api, job('bad', 'exit 3'), fixture.jobIds);
    // The step's own timeout, counted from its start: a job timeout could run out while the job
    // still waits for a worker slot (then it never says Running, rightly).
    const slow = await submitJob(api, { name: 'slow', steps: [{ id: 1, name: 'slow', image: images.busybox, script: 'sleep 30', timeout_seconds: 1 }] }, fixture.jobIds);
    const stopped = await submitJob(api, job('stopped', 'echo started; sleep 60'), fixture.jobIds);
    await waitForLogLine(api, stopped, 'started');
    assert.equal((await request(`${api}/jobs/${stopped}/cancel`, { method: 'POST' })).status, 202);

    const seen = await Promise.all([ok, bad, slow, stopped].map((id) => feed.ended(id)));
    const statuses = seen.map((events) => events.map((e) => e.status));
    assert.deepEqual(statuses, [
      ['Queued', 'Running', 'Succeeded'],
      ['Queued', 'Running', 'Failed'],
      ['Queued', 'Running', 'Failed'],
      ['Queued', 'Running', 'Stopped'],
    ]);
    assert.equal(seen[0]!.some((e) => e.reason !== undefined), false, 'no reason on a success');
    assert.equal(seen[1]![2]!.reason, 'step "bad" exited with code 3');
    assert.match(seen[2]![2]!.reason ?? '', /timed out/);
    assert.match(seen[3]![2]!.reason ?? '', /cancelled/);

    // This project's own events: the six statuses, in order, with the time of each.
    const own = feed.own(slow);
    assert.deepEqual(own.map((e) => [e.status, e.hades_status]), [
      ['Queued', 'Queued'],
      ['Running', 'Running'],
      ['TimedOut', 'Failed'],
    ]);
    assert.ok(own.every((e) => typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at as string))));
    assert.deepEqual(feed.own(stopped).map((e) => e.status), ['Queued', 'Running', 'Cancelled']);

    // The event comes after the state says so: a client that reads the job on it sees it ended.
    const state = await request<{ status: string }>(`${api}/jobs/${ok}`);
    assert.equal(state.body.status, 'Succeeded');
    await assertNoLeaks([ok, bad, slow, stopped]);
  });

  it('says Failed with its reason for a job that could never start (its image does not exist)', async () => {
    const image = `${testEnv.registry}/hades-test/no-such-image-${fixture.stack.suffix}:1`;
    const id = await submitJob(fixture.stack.apiUrl, { name: 'no image', steps: [{ id: 1, image, script: 'true' }] }, fixture.jobIds);
    const events = await feed.ended(id);
    assert.deepEqual(events.map((e) => e.status), ['Queued', 'Running', 'Failed']);
    assert.match(events[2]!.reason ?? '', /no-such-image/);
  });
});

describe('a job cancelled before any bridge took it', () => {
  it('is Queued, then Stopped, and never Running', async () => {
    const api = await startTestStack({ HADES_ROLES: 'api' });
    let rest: TestStack | undefined;
    const feed = await watchStatusFeed(api.config);
    try {
      const id = await submitJob(api.apiUrl, job('never', 'true'));
      assert.equal((await request(`${api.apiUrl}/jobs/${id}/cancel`, { method: 'POST' })).status, 202);
      rest = await startTestStack({ ...api.env, HADES_ROLES: 'bridge,worker' });
      const events = await feed.ended(id);
      assert.deepEqual(events.map((e) => e.status), ['Queued', 'Stopped']);
      assert.match(events[1]!.reason ?? '', /cancelled before it started/);
      await assertNoLeaks([id]);
    } finally {
      await feed.close();
      await rest?.stop();
      await api.stop();
    }
  });
});

describe('a worker killed as it is about to say a job ended', () => {
  const run = workerProcessRun({}, assertNoLeaks);

  it('loses nothing: the next worker says it', async () => {
    const { stack, worker, jobIds } = await run.start({ HADES_FAULT: 'worker-crash-before-status' });
    const feed = await watchStatusFeed(stack.config);
    try {
      const id = await submitJob(stack.apiUrl, job('crash', 'true'), jobIds);
      assert.equal((await worker.exited).signal, 'SIGKILL');
      assert.deepEqual(feed.events(id).map((e) => e.status), ['Queued', 'Running'], 'killed before the end was said');
      await run.secondWorker();
      assert.deepEqual((await feed.ended(id)).map((e) => e.status), ['Queued', 'Running', 'Succeeded']);
    } finally {
      await feed.close();
    }
  });
});
