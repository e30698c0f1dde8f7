import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config';
import { referenceBytes } from '../../src/bridge/intake';
import { ensureJobQueue } from '../../src/queue/jobQueue';
import { managedByKey } from '../../src/queue/streams';
import { queueNames, queueSettings } from '../../src/main/run';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { consumerState, until, withNats } from '../helpers/nats';
import { enqueueLikeHades, goPayload, hadesJobStreamConfig, startHadesApi, startHadesSchedulerConsumers } from '../helpers/currentHades';
import { isolatedEnv, startTestStack, uniqueSuffix } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import { watchStatusFeed } from '../helpers/statusFeed';
import type { FeedWatch } from '../helpers/statusFeed';
import { images } from '../helpers/testEnv';
import type { Config } from '../../src/config';

// A deployment of the current Hades (its API's stream and bucket, its enqueue, its status
// subscribers) with this project as its scheduler; and this project writing for its scheduler.

async function streamConfig(config: Config, stream = config.NATS_JOB_STREAM) {
  return withNats(config.NATS_URL, async (nc) => (await (await nc.jetstreamManager()).streams.info(stream)).config);
}

async function deadLetters(config: Config) {
  return withNats(config.NATS_URL, async (nc) => {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(`${config.NATS_JOB_STREAM}_DEAD`).catch(() => undefined);
    const out = [];
    for (let seq = info?.state.first_seq ?? 1; info && info.state.messages > 0 && seq <= info.state.last_seq; seq++) out.push(await jsm.streams.getMessage(info.config.name, { seq }));
    return out;
  });
}

describe('the current Hades API, with this project as its scheduler', () => {
  const env = isolatedEnv(uniqueSuffix());
  const names = parseConfig(env);
  let stack: TestStack;
  let feed: FeedWatch;
  const jobIds: string[] = [];

  before(async () => {
    // Its API started first: its stream and bucket, its settings.
    await withNats(names.NATS_URL, (nc) => startHadesApi(nc, names));
    feed = await watchStatusFeed(names);
    stack = await startTestStack(env);
  });
  after(async () => {
    await feed.close();
    await stack.stop();
    await assertNoLeaks(jobIds);
  });

  it('leaves the stream as the current Hades made it', async () => {
    const config = await streamConfig(names);
    const theirs = hadesJobStreamConfig(names);
    assert.deepEqual([config.subjects, config.duplicate_window, config.max_age, config.metadata?.[managedByKey]], [theirs.subjects, theirs.duplicate_window, theirs.max_age, undefined]);
  });

  it('runs a job it enqueued (payload in the bucket, 16-byte reference), once, and serves its logs', async () => {
    const id = randomUUID();
    jobIds.push(id);
    await withNats(names.NATS_URL, (nc) => enqueueLikeHades(nc, names, goPayload(id, images.busybox, 'echo hello from go'), 'medium'));
    const again = await withNats(names.NATS_URL, (nc) => nc.jetstream().publish(`${names.NATS_JOB_SUBJECT_PREFIX}.medium`, referenceBytes(id), { msgID: id }));
    assert.equal(again.duplicate, true, 'a re-publish within its window is dropped by JetStream');

    const state = await waitForEnd(stack.apiUrl, id);
    assert.deepEqual([state.status, state.name, state.priority], ['Succeeded', 'from the current Hades', 2]);
    const logs = await request<{ logs: { logs: { message: string }[] }[] }>(`${stack.apiUrl}/jobs/${id}/logs`);
    assert.deepEqual(logs.body.logs.flatMap((s) => s.logs.map((l) => l.message)), ['hello from go']);
    // Its log subscribers read the same batches: job_id, container_id, logs of timestamp, message, output_stream.
    const batch = await withNats(names.NATS_URL, async (nc) => (await (await nc.jetstreamManager()).streams.getMessage(names.NATS_LOG_STREAM, { last_by_subj: `${names.NATS_LOG_SUBJECT_PREFIX}.${id}` })).json<Record<string, unknown>>());
    assert.equal(batch.job_id, id);
    assert.equal(typeof batch.container_id, 'string');
    assert.deepEqual(Object.keys((batch.logs as Record<string, unknown>[])[0] ?? {}).sort(), ['message', 'output_stream', 'timestamp']);

    // One Queued (its API's), then this project's Running and Succeeded.
    assert.deepEqual((await feed.ended(id)).map((e) => e.status), ['Queued', 'Running', 'Succeeded']);
    await until('the bridge to have acked everything', async () => {
      const s = await consumerState(stack.config);
      return s.pending === 0 && s.ackPending === 0;
    });
    assert.equal((await request<{ jobs: { id: string }[] }>(`${stack.apiUrl}/jobs?limit=100`)).body.jobs.filter((j) => j.id === id).length, 1);
  });

  it('takes a reference as 36 characters of text too, and the priority from the subject', async () => {
    const id = randomUUID();
    jobIds.push(id);
    await withNats(names.NATS_URL, (nc) => enqueueLikeHades(nc, names, goPayload(id, images.busybox, 'true'), 'high', { reference: new TextEncoder().encode(id) }));
    const state = await waitForEnd(stack.apiUrl, id);
    assert.deepEqual([state.status, state.priority], ['Succeeded', 3]);
  });

  it('dead-letters a reference it cannot read (no payload, bad JSON, an invalid job), and says the job Failed', async () => {
    const before = (await deadLetters(names)).length;
    const [missing, notJson, invalid] = [randomUUID(), randomUUID(), randomUUID()];
    await withNats(names.NATS_URL, async (nc) => {
      await nc.jetstream().publish(`${names.NATS_JOB_SUBJECT_PREFIX}.low`, Buffer.from(missing.replace(/-/g, ''), 'hex'), { msgID: missing });
      await enqueueLikeHades(nc, names, { id: notJson }, 'low', { payloadBytes: new TextEncoder().encode('{"name": "broken') });
      await enqueueLikeHades(nc, names, { id: invalid, name: 'no steps', steps: [] }, 'low');
    });
    const failed = await Promise.all([missing, notJson, invalid].map((id) => feed.ended(id)));
    assert.deepEqual(failed.map((events) => events.map((e) => e.status)), [['Failed'], ['Queued', 'Failed'], ['Queued', 'Failed']]);
    assert.match(failed[0]![0]!.reason ?? '', /never started: .*holds no payload under that id/);
    assert.match(failed[1]![1]!.reason ?? '', /never started: not JSON/);
    assert.match(failed[2]![1]!.reason ?? '', /never started: invalid job: steps/);
    const dead = await deadLetters(names);
    assert.equal(dead.length - before, 3);
    // Its API kept the only record; the bridge, which could not start them, makes one here, so
    // each id says Failed and why, as the status feed did (not 404, as if never submitted).
    for (const [i, id] of [missing, notJson, invalid].entries()) {
      const status = await request<{ status: string }>(`${stack.apiUrl}/jobs/${id}/status`);
      assert.deepEqual([status.status, status.body], [200, { status: 'Failed' }]);
      const job = await request<{ status: string; reason?: string; priorityLevel: string }>(`${stack.apiUrl}/jobs/${id}`);
      assert.equal(job.body.status, 'Failed');
      assert.equal(job.body.reason, failed[i]!.at(-1)!.reason);
      assert.equal(job.body.priorityLevel, 'low');
    }
  });

  it("does not fight its API's restart: the stream keeps its settings, and jobs still run", async () => {
    await withNats(names.NATS_URL, (nc) => startHadesApi(nc, names));
    const id = randomUUID();
    jobIds.push(id);
    await withNats(names.NATS_URL, (nc) => enqueueLikeHades(nc, names, goPayload(id, images.busybox, 'true'), 'low'));
    assert.equal((await waitForEnd(stack.apiUrl, id)).status, 'Succeeded');
  });
});

describe('this project first, then the current Hades API on the same server', () => {
  it('lets its API take the stream over, and never changes it back', async () => {
    const env = isolatedEnv(uniqueSuffix());
    const names = parseConfig(env);
    const first = await startTestStack({ ...env, HADES_ROLES: 'api,bridge' });
    try {
      assert.equal((await streamConfig(names)).metadata?.[managedByKey], 'hades-temporal', 'made by this project, marked so');
      await withNats(names.NATS_URL, (nc) => startHadesApi(nc, names));
      const taken = await streamConfig(names);
      assert.deepEqual([taken.subjects, taken.duplicate_window], [[`${names.NATS_JOB_SUBJECT_PREFIX}.*`], 60e9]);
      // This project starting again leaves it so.
      await withNats(names.NATS_URL, async (nc) => ensureJobQueue(await nc.jetstreamManager(), queueNames(names), queueSettings(names)));
      const after = await streamConfig(names);
      assert.deepEqual([after.subjects, after.duplicate_window, after.max_age], [taken.subjects, taken.duplicate_window, taken.max_age]);
    } finally {
      await first.stop();
    }
  });
});

describe("the current Hades's scheduler on the same stream", () => {
  it('makes the bridge refuse to start with an error that says whose consumers they are and what to do', async () => {
    const env = isolatedEnv(uniqueSuffix());
    const names = parseConfig(env);
    const consumers = await withNats(names.NATS_URL, async (nc) => {
      await startHadesApi(nc, names);
      return startHadesSchedulerConsumers(nc, names);
    });
    const refused = await withNats(names.NATS_URL, async (nc) => ensureJobQueue(await nc.jetstreamManager(), queueNames(names), queueSettings(names)).then(() => undefined, (err: unknown) => err as Error));
    assert.ok(refused, 'the bridge consumer must not be made beside them');
    for (const name of consumers) assert.ok(refused.message.includes(name), refused.message);
    assert.match(refused.message, /work queue.*Stop that scheduler and delete its consumers.*NATS_JOB_STREAM/s);
  });

  it('leaves it to that scheduler when this project runs only its API, writing for it (SUBMIT_FORMAT=reference)', async () => {
    const env = isolatedEnv(uniqueSuffix());
    const names = parseConfig(env);
    await withNats(names.NATS_URL, async (nc) => {
      await startHadesApi(nc, names);
      await startHadesSchedulerConsumers(nc, names);
    });
    const api = await startTestStack({ ...env, HADES_ROLES: 'api', SUBMIT_FORMAT: 'reference' });
    try {
      const res = await request<{ job_id: string }>(`${api.apiUrl}/build`, { method: 'POST', json: { name: 'for the current scheduler', priority: 2, steps: [{ image: images.busybox, script: 'true' }] } });
      assert.equal(res.status, 200);
      const pending = await withNats(names.NATS_URL, async (nc) => (await (await nc.jetstreamManager()).consumers.info(names.NATS_JOB_STREAM, 'HADES_JOBS_medium')).num_pending);
      assert.equal(pending, 1, "the job waits for the current Hades's scheduler");
    } finally {
      await api.stop();
    }
  });
});

describe('POST /build written for the current Hades (SUBMIT_FORMAT=reference)', () => {
  it("puts the payload in its bucket and the 16-byte id on its stream, as its scheduler reads them; this project's bridge runs it too", async () => {
    const api = await startTestStack({ HADES_ROLES: 'api', SUBMIT_FORMAT: 'reference' });
    let rest: TestStack | undefined;
    try {
      const refused = await request<{ error: { details?: { path: string }[] } }>(`${api.apiUrl}/build`, { method: 'POST', json: { name: 'j', steps: [{ id: 'one', image: images.busybox }] } });
      assert.equal(refused.status, 400, 'a step id its scheduler cannot read');

      const res = await request<{ job_id: string }>(`${api.apiUrl}/build`, { method: 'POST', json: { name: 'written for hades', priority: 1, steps: [{ image: images.busybox, script: 'echo via the bucket' }] } });
      assert.equal(res.status, 200);
      const id = res.body.job_id;
      // Read as its scheduler reads it: uuid.FromBytes(msg.Data()), then the bucket under that id.
      const { data, msgId, subject, payload } = await withNats(api.config.NATS_URL, async (nc) => {
        const msg = await (await nc.jetstreamManager()).streams.getMessage(api.config.NATS_JOB_STREAM, { last_by_subj: `${api.config.NATS_JOB_SUBJECT_PREFIX}.low` });
        const kv = await nc.jetstream().views.kv(api.config.NATS_PAYLOAD_BUCKET, { bindOnly: true });
        return { data: msg.data, msgId: msg.header.get('Nats-Msg-Id'), subject: msg.subject, payload: (await kv.get(id))?.json<Record<string, unknown>>() };
      });
      assert.equal(data.length, 16);
      const fromBytes = Buffer.from(data).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
      assert.deepEqual([fromBytes, msgId, subject], [id, id, `${api.config.NATS_JOB_SUBJECT_PREFIX}.low`]);
      assert.ok(payload);
      assert.equal(payload.id, id);
      assert.ok(!Number.isNaN(Date.parse(String(payload.timestamp))));
      assert.deepEqual((payload.steps as { id: unknown; script: string }[]).map((s) => [s.id, s.script]), [[1, 'echo via the bucket']]);

      // A submission the stream does not take leaves nothing behind: no payload, no record.
      const failing = randomUUID();
      await withNats(api.config.NATS_URL, async (nc) => (await nc.jetstreamManager()).streams.update(api.config.NATS_JOB_STREAM, { subjects: [`${api.config.NATS_JOB_SUBJECT_PREFIX}.high`] }));
      const lost = await request(`${api.apiUrl}/build`, { method: 'POST', json: { id: failing, name: 'not taken', priority: 1, steps: [{ image: images.busybox }] } });
      assert.notEqual(lost.status, 200);
      const leftover = await withNats(api.config.NATS_URL, async (nc) => (await (await nc.jetstream().views.kv(api.config.NATS_PAYLOAD_BUCKET, { bindOnly: true })).get(failing))?.operation);
      assert.notEqual(leftover, 'PUT', 'the payload of a job that was not queued must not stay in the bucket');
      assert.equal((await request(`${api.apiUrl}/jobs/${failing}`)).status, 404);

      rest = await startTestStack({ ...api.env, HADES_ROLES: 'bridge,worker' });
      assert.equal((await waitForEnd(api.apiUrl, id)).status, 'Succeeded');
      const logs = await request<{ logs: { logs: { message: string }[] }[] }>(`${api.apiUrl}/jobs/${id}/logs`);
      assert.deepEqual(logs.body.logs.flatMap((s) => s.logs.map((l) => l.message)), ['via the bucket']);
      await assertNoLeaks([id]);
    } finally {
      await rest?.stop();
      await api.stop();
    }
  });
});
