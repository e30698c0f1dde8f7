import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { consumerState, publishJob, until, withNats } from '../helpers/nats';
import type { TestStack } from '../helpers/stack';
import { startTestStack, useTestStack } from '../helpers/stack';
import { activityAttempts, runsOf } from '../helpers/temporal';
import { images } from '../helpers/testEnv';
import { msToTs } from '@temporalio/common/lib/time';
import fc from 'fast-check';
import { parseJobPayload } from '../../src/job';
import type { JobState } from '../../src/job';

const job = (name: string) => ({ name, steps: [{ id: 1, name: 'hi', image: images.busybox, script: 'echo ran' }] });

describe('NATS intake', () => {
  const fixture = useTestStack({ NATS_DUPLICATE_WINDOW_SECONDS: '1' });

  it('runs a job published straight to NATS; its id comes from Nats-Msg-Id', async () => {
    const id = `nats-${randomUUID()}`;
    fixture.jobIds.push(id);
    await publishJob(fixture.stack.config, job('from nats'), { msgId: id, level: 'low' });
    const state = await until('the job to be known', async () => {
      const res = await request<JobState>(`${fixture.stack.apiUrl}/jobs/${id}`);
      return res.status === 200 && res.body;
    });
    assert.equal(state.name, 'from nats');
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id)).status, 'Succeeded');
  });

  it('starts one workflow for a job id published twice, within and beyond the duplicate window', async () => {
    const id = randomUUID();
    fixture.jobIds.push(id);
    const first = await publishJob(fixture.stack.config, { ...job('twice'), id }, { msgId: id });
    const again = await publishJob(fixture.stack.config, { ...job('twice'), id }, { msgId: id });
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true, 'JetStream drops a repeat within its window');
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id)).status, 'Succeeded');

    await new Promise((r) => setTimeout(r, 1500)); // past the 1 s window
    const late = await publishJob(fixture.stack.config, { ...job('twice'), id }, { msgId: id });
    assert.equal(late.duplicate, false, 'JetStream stores it again');
    await until('the bridge to consume the repeat', async () => {
      const s = await consumerState(fixture.stack.config);
      return s.pending === 0 && s.ackPending === 0;
    });
    assert.equal(await runsOf(fixture.stack.client, id), 1);
    assert.deepEqual(await activityAttempts(fixture.stack.client, id), ['runStep 1'], 'one step, once (its cleanup with it)');
  });

  it('moves messages that can never become jobs to the dead-letter stream, with their reason', async () => {
    const config = fixture.stack.config;
    await publishJob(config, undefined, { raw: '{"name": "broken' });
    await publishJob(config, { name: 'no steps', steps: [] });
    const dead = await until('two dead letters', () =>
      withNats(config.NATS_URL, async (nc) => {
        const jsm = await nc.jetstreamManager();
        const stream = `${config.NATS_JOB_STREAM}_DEAD`;
        const info = await jsm.streams.info(stream).catch(() => undefined);
        if (!info || info.state.messages < 2) return undefined;
        const msgs = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) msgs.push(await jsm.streams.getMessage(stream, { seq }));
        return msgs;
      }),
    );
    const reasons = dead.map((m) => m.header.get('Hades-Reason'));
    assert.match(reasons[0] ?? '', /^not JSON/);
    assert.match(reasons[1] ?? '', /^invalid job: steps: a job needs at least one step/);
    assert.equal(new TextDecoder().decode(dead[0]?.data), '{"name": "broken');
    assert.equal(dead[1]?.header.get('Hades-Original-Subject'), `${config.NATS_JOB_SUBJECT_PREFIX}.high`);
    const s = await consumerState(config);
    assert.deepEqual([s.pending, s.ackPending], [0, 0], 'terminated, not redelivered');
  });
});

describe('garbage on the job subjects', () => {
  const fixture = useTestStack();

  it('goes to the dead letters, every message of it, and the bridge keeps running jobs', async () => {
    const config = fixture.stack.config;
    const encoder = new TextEncoder();
    // Fixed seeds: the same garbage every run, so a failure can be replayed.
    const bytes = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 4000 }), { numRuns: 60, seed: 42 });
    const json = fc.sample(fc.jsonValue(), { numRuns: 60, seed: 7 }).filter((v) => !parseJobPayload(v).ok).map((v) => encoder.encode(JSON.stringify(v)));
    const garbage = [...bytes, ...json];
    const dead = `${config.NATS_JOB_STREAM}_DEAD`;
    const deadCount = () => withNats(config.NATS_URL, async (nc) => (await (await nc.jetstreamManager()).streams.info(dead).catch(() => undefined))?.state.messages ?? 0);
    const before = await deadCount();
    await withNats(config.NATS_URL, async (nc) => {
      const js = nc.jetstream();
      for (const [i, data] of garbage.entries()) await js.publish(`${config.NATS_JOB_SUBJECT_PREFIX}.${['high', 'medium', 'low'][i % 3]}`, data);
    });
    await until('every message in the dead letters', async () => (await deadCount()) - before >= garbage.length, 90_000, 250);
    assert.equal((await deadCount()) - before, garbage.length, 'one dead letter per message, none twice');
    const s = await consumerState(config);
    assert.deepEqual([s.pending, s.ackPending], [0, 0]);

    const id = `after-garbage-${randomUUID()}`;
    fixture.jobIds.push(id);
    await publishJob(config, job('after the garbage'), { msgId: id });
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id, 90_000)).status, 'Succeeded');
    await assertNoLeaks([id]);
  });
});

describe('a bridge killed between the workflow start and the ack', () => {
  it('is redelivered to the next bridge, which starts nothing new', async () => {
    const stack = await startTestStack({ HADES_ROLES: 'api,worker' });
    let second: TestStack | undefined;
    try {
      const crashing = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', '..', 'src', 'main.ts')], {
        env: { PATH: process.env.PATH, ...stack.env, HADES_ROLES: 'bridge', HADES_FAULT: 'bridge-crash-after-start' },
        stdio: 'ignore',
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => crashing.once('exit', (_code, signal) => resolve(signal)));
      const res = await request<{ job_id: string }>(`${stack.apiUrl}/build`, { method: 'POST', json: job('crash') });
      const id = res.body.job_id;
      assert.equal(await exited, 'SIGKILL');
      assert.equal(await runsOf(stack.client, id), 1, 'the start reached Temporal before the crash');
      assert.equal((await consumerState(stack.config)).ackPending, 1, 'and the message was never acked');

      second = await startTestStack({ ...stack.env, HADES_ROLES: 'bridge' });
      await until('the redelivery to be acked', async () => {
        const s = await consumerState(stack.config);
        return s.pending === 0 && s.ackPending === 0 && s.redelivered === 0;
      });
      assert.equal((await waitForEnd(stack.apiUrl, id)).status, 'Succeeded');
      assert.equal(await runsOf(stack.client, id), 1);
      assert.deepEqual(await activityAttempts(stack.client, id), ['runStep 1']);
      await assertNoLeaks([id]);
    } finally {
      await second?.stop();
      await stack.stop();
    }
  });
});

describe('200 jobs queued while no bridge runs', () => {
  it('all run exactly once when two bridges start', async () => {
    const api = await startTestStack({ HADES_ROLES: 'api' });
    const others: TestStack[] = [];
    const ids: string[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const res = await request<{ job_id: string }>(`${api.apiUrl}/build`, { method: 'POST', json: job(`bulk ${i}`) });
        assert.equal(res.status, 200);
        ids.push(res.body.job_id);
      }
      assert.equal((await consumerState(api.config)).pending, 200);
      for (const roles of ['bridge', 'bridge', 'worker']) others.push(await startTestStack({ ...api.env, HADES_ROLES: roles, CONCURRENCY: '4' }));

      await until(
        'all 200 jobs to end',
        async () => {
          const page = await request<{ jobs: JobState[] }>(`${api.apiUrl}/jobs?status=Succeeded&limit=500`);
          return page.body.jobs.length === 200;
        },
        300_000,
        1000,
      );
      const runs: string[] = [];
      for await (const w of api.client.workflow.list({ query: `TaskQueue = '${api.config.TEMPORAL_TASK_QUEUE}'` })) runs.push(w.workflowId);
      assert.equal(runs.length, 200, 'one workflow run per job');
      assert.deepEqual([...new Set(runs)].sort(), [...ids].sort());
      const s = await consumerState(api.config);
      assert.deepEqual([s.pending, s.ackPending], [0, 0]);
      await assertNoLeaks(ids);
    } finally {
      for (const o of others.reverse()) await o.stop();
      await api.stop();
    }
  });
});

describe('a start that Temporal refuses for good', () => {
  it('goes to the dead letters with its reason instead of being retried forever', async () => {
    // A namespace without Hades's search attributes: every start is INVALID_ARGUMENT.
    const api = await startTestStack({ HADES_ROLES: 'api' });
    let bridge: TestStack | undefined;
    try {
      const namespace = `no-attributes-${randomUUID().slice(0, 8)}`;
      await api.client.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
      const res = await request<{ job_id: string }>(`${api.apiUrl}/build`, { method: 'POST', json: { name: 'refused', steps: [{ image: images.busybox, script: 'true' }] } });
      assert.equal(res.status, 200);
      // The new namespace takes a moment to be known everywhere; until then starts fail as "not found" and are retried.
      bridge = await startTestStack({ ...api.env, HADES_ROLES: 'bridge', TEMPORAL_NAMESPACE: namespace, BRIDGE_RETRY_MAX_SECONDS: '1' });
      const stream = `${api.config.NATS_JOB_STREAM}_DEAD`;
      const dead = await until(
        'the job in the dead letters',
        () =>
          withNats(api.config.NATS_URL, async (nc) => {
            const jsm = await nc.jetstreamManager();
            const info = await jsm.streams.info(stream).catch(() => undefined);
            if (!info || info.state.messages < 1) return undefined;
            return jsm.streams.getMessage(stream, { seq: info.state.first_seq });
          }),
        90_000,
        250,
      );
      assert.match(dead.header.get('Hades-Reason'), /refused by Temporal.*search attribute/i);
      const s = await consumerState(api.config);
      assert.deepEqual([s.pending, s.ackPending], [0, 0], 'terminated, not redelivered');
      const view = await until('the job to read Failed', async () => {
        const r = await request<{ status: string; reason?: string }>(`${api.apiUrl}/jobs/${res.body.job_id}`);
        return r.body.status === 'Failed' ? r.body : undefined;
      });
      assert.match(view.reason ?? '', /^never started: refused by Temporal/);
    } finally {
      await bridge?.stop();
      await api.stop();
    }
  });
});

describe('a start that keeps failing', () => {
  it("is handed out again after the consumer's backoff, and dead-lettered on its last delivery: the job reads Failed, not Queued for good", async () => {
    const settings = { BRIDGE_RETRY_MAX_SECONDS: '1', BRIDGE_MAX_DELIVERIES: '3' };
    const api = await startTestStack({ HADES_ROLES: 'api', ...settings });
    let bridge: TestStack | undefined;
    try {
      const info = await withNats(api.config.NATS_URL, async (nc) => (await nc.jetstreamManager()).consumers.info(api.config.NATS_JOB_STREAM, api.config.NATS_CONSUMER));
      assert.deepEqual([info.config.max_deliver, info.config.backoff], [3, [1e9]], "JetStream's own redelivery settings");
      const res = await request<{ job_id: string }>(`${api.apiUrl}/build`, { method: 'POST', json: job('never starts') });
      assert.equal(res.status, 200);
      // A namespace nobody registered: every start fails as "not found", which may pass, so it is retried.
      bridge = await startTestStack({ ...api.env, HADES_ROLES: 'bridge', TEMPORAL_NAMESPACE: `missing-${randomUUID().slice(0, 8)}`, ...settings });
      const stream = `${api.config.NATS_JOB_STREAM}_DEAD`;
      const dead = await until('the job in the dead letters', () =>
        withNats(api.config.NATS_URL, async (nc) => {
          const jsm = await nc.jetstreamManager();
          const state = await jsm.streams.info(stream).catch(() => undefined);
          if (!state || state.state.messages < 1) return undefined;
          return jsm.streams.getMessage(stream, { seq: state.state.first_seq });
        }),
      90_000, 250);
      assert.match(dead.header.get('Hades-Reason'), /^not started after 3 deliveries \(the consumer's max_deliver\): .*namespace/i);
      const s = await consumerState(api.config);
      assert.deepEqual([s.pending, s.ackPending], [0, 0], 'terminated, not left in the queue');
      // The bridge marks the job after the dead letter is out.
      const view = await until('the job to read Failed', async () => {
        const r = await request<{ status: string; reason?: string }>(`${api.apiUrl}/jobs/${res.body.job_id}`);
        return r.body.status === 'Failed' ? r.body : undefined;
      });
      assert.match(view.reason ?? '', /^never started: not started after 3 deliveries/);
    } finally {
      await bridge?.stop();
      await api.stop();
    }
  });
});

describe('the bridge consumer deleted under a running bridge', () => {
  it('is noticed and made again: jobs submitted afterwards still run', async () => {
    const stack = await startTestStack({ HADES_ROLES: 'api,bridge,worker' });
    try {
      await withNats(stack.config.NATS_URL, async (nc) => {
        await (await nc.jetstreamManager()).consumers.delete(stack.config.NATS_JOB_STREAM, stack.config.NATS_CONSUMER);
      });
      const res = await request<{ job_id: string }>(`${stack.apiUrl}/build`, { method: 'POST', json: job('after the consumer was deleted') });
      assert.equal(res.status, 200);
      assert.equal((await waitForEnd(stack.apiUrl, res.body.job_id, 90_000)).status, 'Succeeded');
      await assertNoLeaks([res.body.job_id]);
    } finally {
      await stack.stop();
    }
  });
});
