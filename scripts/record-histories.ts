// `npm run record-histories`: runs a job down every path the workflow has, on a throw-away
// Temporal and NATS, and writes each workflow history to test/replay/histories/ for the replay
// test. Histories already there are kept (they prove that today's code replays what older code
// recorded); `-- --force` records all anew, only after a deliberate, versioned change to the
// workflow, never to make replay pass.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { parseConfig } from '../src/config';
import { runHades } from '../src/main/run';
import type { Running } from '../src/main/run';
import { freePorts, killOnExit, tracked, projectRoot, startNats, startTemporal } from './services';
import type { Service } from './services';

const image = process.env.HADES_TEST_BUSYBOX_IMAGE ?? 'hades-test/busybox:1';

interface Scenario {
  id: string;
  job: Record<string, unknown>;
  /** Which Hades takes it: the plain one, or the one that pins jobs to a host. */
  on?: 'pinned';
  /** Something to do while it runs (cancel it, keep the worker busy first). */
  during?: (ctx: { api: string; id: string }) => Promise<void>;
  /** Submitted (and left running) before this one, on the same Hades. */
  before?: Record<string, unknown>;
}

const steps = (...scripts: string[]) => scripts.map((script, i) => ({ id: i + 1, name: `step ${i + 1}`, image, script }));

async function post(url: string, body?: unknown): Promise<Response> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  if (!res.ok && res.status !== 202) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const dir = join(projectRoot, '.hades', 'record');
  rmSync(dir, { recursive: true, force: true });
  const services: (Service & { pid?: number })[] = [];
  killOnExit(services);
  const [tPort, nPort] = await freePorts(2);
  await Promise.all([tracked(services, startTemporal({ port: tPort, logDir: dir })), tracked(services, startNats({ port: nPort, storeDir: join(dir, 'nats'), logDir: dir }))]);

  // A callback receiver that fails twice, then takes it: the delivery is retried.
  let callbackCalls = 0;
  const receiver = createServer((_req, res) => {
    callbackCalls++;
    res.statusCode = callbackCalls <= 2 ? 503 : 200;
    res.end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const base = { TEMPORAL_ADDRESS: `127.0.0.1:${tPort}`, NATS_URL: `nats://127.0.0.1:${nPort}`, API_PORT: '0', API_HOST: '127.0.0.1', LOG_LEVEL: 'warn', CALLBACK_INITIAL_INTERVAL_SECONDS: '1' };
  // Aging after 1 s, so a step kept waiting by a busy worker takes the aged path.
  const plain = await runHades(parseConfig({ ...base, PRIORITY_AGING_SECONDS: '1' }));
  const pinned = await runHades(
    parseConfig({
      ...base,
      PIN_JOBS_TO_HOST: 'true',
      HADES_HOST_ID: 'recorder',
      TEMPORAL_TASK_QUEUE: 'hades-pinned',
      NATS_JOB_STREAM: 'PINNED_JOBS',
      NATS_JOB_SUBJECT_PREFIX: 'pinned.jobs',
      NATS_CONSUMER: 'pinned-bridge',
      NATS_SUBMISSIONS_BUCKET: 'PINNED_SUBMISSIONS',
      NATS_STARTED_BUCKET: 'PINNED_STARTED',
    }),
  );
  const apiOf = (r: Running) => `http://127.0.0.1:${r.apiPort ?? 0}`;
  const connection = await Connection.connect({ address: base.TEMPORAL_ADDRESS });
  const client = new Client({ connection });

  const cancelOnceRunning = async ({ api, id }: { api: string; id: string }) => {
    await until('the step to run', async () => {
      const job = (await (await fetch(`${api}/jobs/${id}`)).json()) as { steps?: { status: string }[] };
      return job.steps?.[0]?.status === 'Running';
    });
    await post(`${api}/jobs/${id}/cancel`);
  };

  const activityStates = temporal.api.enums.v1.PendingActivityState;
  /** The state of a job's pending step activity (undefined: none pending, or no workflow yet). */
  const stepState = async (id: string) => {
    try {
      const d = await client.workflow.getHandle(id).describe();
      return d.raw.pendingActivities?.find((a) => a.activityType?.name === 'runStep')?.state ?? undefined;
    } catch {
      return undefined;
    }
  };
  const ended = async (id: string) => {
    try {
      return (await client.workflow.getHandle(id).describe()).status.name !== 'RUNNING';
    } catch {
      return false;
    }
  };
  // Its workflow runs and its first step is scheduled, but no worker took it (the one slot is
  // busy with the job before): cancelled then, before the aging (1 s) ends the wait.
  const cancelOnceScheduled = async ({ api, id }: { api: string; id: string }) => {
    await until('the step to be scheduled', async () => (await stepState(id)) === activityStates.PENDING_ACTIVITY_STATE_SCHEDULED);
    await post(`${api}/jobs/${id}/cancel`);
  };

  const scenarios: Record<string, Scenario> = {
    succeeded: { id: '11111111-1111-4111-8111-111111111111', job: { name: 'replay: passing job', metadata: { GLOBAL: 'test' }, steps: steps('echo one > /shared/out.txt', 'cat /shared/out.txt') } },
    failed: { id: '22222222-2222-4222-8222-222222222222', job: { name: 'replay: failing job', steps: steps('exit 3', 'true') } },
    'continue-on-error': {
      id: '33333333-3333-4333-8333-333333333333',
      job: { name: 'replay: continue_on_error', steps: [{ ...steps('exit 1')[0], continue_on_error: true }, { ...steps('true', 'echo after')[1] }] },
    },
    'step-timeout': { id: '44444444-4444-4444-8444-444444444444', job: { name: 'replay: step timeout', steps: [{ ...steps('sleep 30')[0], timeout_seconds: 1 }] } },
    'job-timeout': { id: '55555555-5555-4555-8555-555555555555', job: { name: 'replay: job timeout', timeout_seconds: 2, steps: steps('sleep 30', 'true') } },
    'cancelled-during-step': { id: '66666666-6666-4666-8666-666666666666', job: { name: 'replay: cancelled', steps: steps('sleep 30', 'true') }, during: cancelOnceRunning },
    'callback-after-retries': { id: '77777777-7777-4777-8777-777777777777', job: { name: 'replay: callback', callback_url: callbackUrl, steps: steps('true') } },
    'aged-priority': {
      id: '88888888-8888-4888-8888-888888888888',
      // The worker (CONCURRENCY 1) is busy for 4 s with the job before: this one's step ages.
      before: { id: '88888888-0000-4888-8888-888888888888', name: 'replay: keeps the worker busy', steps: steps('sleep 4') },
      job: { name: 'replay: aged priority', priority: 1, steps: steps('true') },
    },
    // Since the 'service-task-queue' patch: the cleanup and the callback on <queue>.service.
    'service-queue': { id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', job: { name: 'replay: cleanup and callback on the service queue', callback_url: callbackUrl, steps: steps('true') } },
    'cancelled-before-step': {
      id: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
      // The worker (CONCURRENCY 1) is busy for 5 s with the job before: this one's step waits, unstarted, when it is cancelled.
      before: { id: 'bbbbbbbb-0000-4bbb-8bbb-bbbbbbbbbbbb', name: 'replay: keeps the worker busy', steps: steps('sleep 5') },
      job: { name: 'replay: cancelled before its step ran', steps: steps('true', 'true') },
      during: cancelOnceScheduled,
    },
    // Since the 'status-feed' patch: the job's end said on the status feed, beside its callback.
    'status-feed': { id: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', job: { name: 'replay: end on the status feed', callback_url: callbackUrl, steps: steps('exit 2') } },
    'pinned-to-host': { id: '99999999-9999-4999-8999-999999999999', on: 'pinned', job: { name: 'replay: pinned to a host', steps: steps('echo x > /shared/x', 'cat /shared/x') } },
    // Since the 'cleanup-in-step' patch: the step a job ends with cleans up; no cleanup activity.
    'cleanup-in-step': { id: 'dddddddd-dddd-4ddd-8ddd-dddddddddddd', job: { name: 'replay: the last step cleans up', callback_url: callbackUrl, steps: steps('echo one > /shared/out.txt', 'cat /shared/out.txt') } },
    'cleanup-in-failed-step': { id: 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', job: { name: 'replay: the failing step cleans up', steps: steps('true', 'exit 3', 'echo never') } },
    // Since 'cleanup-in-step', a cancelled job still has its cleanup activity (the fallback).
    'cleanup-after-cancel': { id: 'ffffffff-ffff-4fff-8fff-ffffffffffff', job: { name: 'replay: cancelled, cleaned up by its activity', steps: steps('sleep 30', 'true') }, during: cancelOnceRunning },
  };

  try {
    const outDir = join(projectRoot, 'test', 'replay', 'histories');
    mkdirSync(outDir, { recursive: true });
    for (const [name, s] of Object.entries(scenarios)) {
      // A history recorded before stays (it holds what older code wrote); --force records anew.
      if (existsSync(join(outDir, `${name}.json`)) && !process.argv.includes('--force')) {
        console.log(`kept ${name} (recorded before)`);
        continue;
      }
      const api = apiOf(s.on === 'pinned' ? pinned : plain);
      const beforeId = typeof s.before?.id === 'string' ? s.before.id : undefined;
      if (s.before) {
        await post(`${api}/build`, s.before);
        // Its step holds the worker before this job comes: this one's step waits for it.
        if (beforeId) await until('the job before to take the worker', async () => (await stepState(beforeId)) === activityStates.PENDING_ACTIVITY_STATE_STARTED);
      }
      await post(`${api}/build`, { ...s.job, id: s.id });
      await s.during?.({ api, id: s.id });
      await until(`${name} to end`, () => ended(s.id), 120_000);
      // The job before ends too, so the next scenario finds the worker free.
      if (beforeId) await until('the job before to end', () => ended(beforeId), 120_000);
      // The CLI's JSON export is the format replay (historyFromJSON) reads.
      const json = execFileSync(join(projectRoot, '.tools', 'venv', 'bin', 'temporal'), ['workflow', 'show', '--address', base.TEMPORAL_ADDRESS, '-w', s.id, '-o', 'json'], { encoding: 'utf8' });
      const history = JSON.parse(json) as { events: unknown[] };
      writeFileSync(join(outDir, `${name}.json`), JSON.stringify(history, null, 2) + '\n');
      console.log(`recorded ${name}: ${history.events.length} events`);
    }
  } finally {
    await pinned.stop();
    await plain.stop();
    await connection.close();
    receiver.close();
    await Promise.allSettled(services.map((s) => s.stop()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
