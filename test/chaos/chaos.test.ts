import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import Docker from 'dockerode';
import fc from 'fast-check';
import { connect } from 'nats';
import { freePorts, startNats, startTemporal } from '../../scripts/services';
import type { Service } from '../../scripts/services';
import { copyImages, startSecondDockerd } from '../../scripts/topology/dockerDaemon';
import type { SecondDockerd } from '../../scripts/topology/dockerDaemon';
import { labels } from '../../src/activities/labels';
import { parseJobPayload, terminalStatuses } from '../../src/job';
import type { JobState } from '../../src/job';
import type { StepLogs } from '../../src/logs/types';
import { docker } from '../helpers/docker';
import { spawnHades } from '../helpers/hadesProcess';
import type { HadesProcess } from '../helpers/hadesProcess';
import { request } from '../helpers/http';
import { until } from '../helpers/nats';
import { isolatedEnv, uniqueSuffix } from '../helpers/stack';
import { seededRandom } from '../helpers/random';
import { images, testEnv } from '../helpers/testEnv';

// Faults under load: jobs of mixed priorities and one to three steps go in over HTTP, with bad
// input (invalid bodies over HTTP, random bytes on the job subjects) and hostile jobs among them
// (a fork bomb, a step that never ends, a memory hog, a step filling /shared, a log flood, a step
// snooping for the Docker socket), while, at
// random moments, the worker, the bridge, the API, nats-server and the Temporal server are each
// SIGKILLed and started again, and the Docker daemon the jobs run on is restarted. Then every
// accepted job (a 200 from POST /build) must have ended exactly once, no step may have run
// twice (each writes a line of its own: it must be in the logs once at most), and nothing may be
// left: no container, no volume, no message in the queue, no job Queued for good.
//
// `npm test` runs a short version (at least HADES_CHAOS_JOBS=30 jobs, one fault of each kind);
// `npm run chaos` the long one (at least 300 jobs, HADES_CHAOS_ROUNDS=3 faults of each kind). The
// load goes on until every fault was injected. HADES_CHAOS_SEED picks the moments (printed). The
// figures go to stdout as one table.

const jobsWanted = Number(process.env.HADES_CHAOS_JOBS ?? 30);
const rounds = Number(process.env.HADES_CHAOS_ROUNDS ?? 1);
const seed = Number(process.env.HADES_CHAOS_SEED ?? Date.now() % 100_000);

const rnd = seededRandom(seed);
const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exitedOf(pid: number): Promise<void> {
  return until(`process ${pid} to be gone`, async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 30_000, 50).then(() => undefined);
}

describe('faults under load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hchaos-'));
  const suffix = uniqueSuffix();
  let temporal: (Service & { pid?: number }) | undefined;
  let nats: (Service & { pid?: number }) | undefined;
  let daemon: SecondDockerd | undefined;
  let connection: Connection | undefined;
  const roles = new Map<string, { env: Record<string, string>; process: HadesProcess }>();

  after(async () => {
    for (const r of roles.values()) {
      r.process.kill('SIGTERM');
      await r.process.exited;
    }
    await connection?.close();
    await daemon?.stop({ kill: true });
    await nats?.stop();
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends every accepted job exactly once, runs no step twice and leaves nothing behind', { timeout: 1_800_000 }, async () => {
    const t0 = Date.now();
    // Said first: a run that fails before its table can be repeated with the same moments.
    console.log(`[chaos] seed ${seed} (HADES_CHAOS_SEED), at least ${jobsWanted} jobs, ${rounds} round(s) of faults`);
    const [temporalPort, httpPort, metricsPort, natsPort, apiPort] = await freePorts(5);
    const temporalOptions = { port: temporalPort, httpPort, metricsPort, dbFile: join(dir, 'temporal.db'), logDir: testEnv.runDir };
    const natsOptions = { port: natsPort, storeDir: join(dir, 'nats'), logDir: testEnv.runDir };
    const daemonOptions = { dir: join(dir, 'd'), logDir: testEnv.runDir, name: `chaos-${process.pid}` };
    [temporal, nats, daemon] = await Promise.all([startTemporal(temporalOptions), startNats(natsOptions), startSecondDockerd(daemonOptions)]);
    const jobDocker = () => new Docker({ socketPath: daemon?.socketPath ?? '' });
    await copyImages(docker, jobDocker(), [images.busybox]);

    const env: Record<string, string> = {
      ...isolatedEnv(suffix),
      TEMPORAL_ADDRESS: temporal.address,
      NATS_URL: nats.address,
      DOCKER_HOST: daemon.host,
      HADES_WORKFLOW_BUNDLE: testEnv.workflowBundle,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      CONCURRENCY: '4',
      // Hostile jobs: a step with no timeout ends after 20 s, a fork bomb stops at 64 processes,
      // a step's log keeps 1 MB.
      STEP_TIMEOUT_SECONDS: '20',
      DOCKER_PIDS_LIMIT: '64',
      LOG_MAX_BYTES_PER_STEP: '1M',
      JOB_STORAGE_LIMIT: '50M',
      JOB_STORAGE_CHECK_SECONDS: '1',
      SHUTDOWN_GRACE_SECONDS: '5',
      // A job whose step a fault failed is not retried by hand here: what matters is that it ends once.
      BRIDGE_RETRY_MAX_SECONDS: '4',
    };
    const start = async (name: string, roleEnv: Record<string, string>, ready: string) => {
      const role = { env: { ...env, ...roleEnv }, process: spawnHades({ ...env, ...roleEnv }) };
      roles.set(name, role);
      await role.process.logged(ready, 180_000);
    };
    await start('api', { HADES_ROLES: 'api' }, 'api listening');
    await Promise.all([start('bridge', { HADES_ROLES: 'bridge' }, 'bridge running'), start('worker', { HADES_ROLES: 'worker' }, 'worker running')]);
    const api = `http://127.0.0.1:${apiPort}`;
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });

    // The load: a job every 150 to 600 ms, priority 1 to 5, one to three steps of up to a second.
    const accepted: string[] = [];
    let refused = 0;
    let submitted = 0;
    // Until both: the jobs wanted are in, and every fault was injected (so none hits an idle system).
    let faultsDone = false;
    const load = (async () => {
      while (accepted.length < jobsWanted || !faultsDone) {
        const steps = Array.from({ length: between(1, 4) }, (_, i) => ({
          id: i + 1,
          name: `s${i + 1}`,
          image: images.busybox,
          script: `echo "chaos-line $UUID ${i + 1}"; sleep 0.${between(0, 10)}`,
        }));
        submitted++;
        try {
          const res = await request<{ job_id: string }>(`${api}/build`, { method: 'POST', json: { name: `chaos ${submitted}`, priority: between(1, 6), steps } });
          if (res.status === 200) accepted.push(res.body.job_id);
          else refused++;
        } catch {
          refused++;
        }
        await sleep(between(150, 600));
      }
    })();

    // Hostile jobs, once the faults are over (a fault may fail any step; these are about what the
    // job does to the host): each must end as it should, and a plain job after them runs normally.
    const hostile: Record<string, { step: Record<string, unknown>; expect: (job: JobState) => boolean }> = {
      // The shell itself may fail to fork once the cap is reached (exit 2), or run into the timeout.
      'fork bomb': { step: { script: 'bomb() { bomb | bomb & }; bomb; sleep 100000' }, expect: (j) => j.status === 'TimedOut' || j.status === 'Failed' },
      'sleeps for ever': { step: { script: 'sleep 100000' }, expect: (j) => j.status === 'TimedOut' },
      'memory hog': { step: { memory_limit: '32M', script: 'head -c 512m /dev/zero | tail' }, expect: (j) => j.status === 'Failed' && /out of memory/.test(j.reason ?? '') },
      'fills /shared': {
        step: { script: 'i=0; while true; do head -c 1048576 /dev/zero > /shared/f$i; i=$((i+1)); sleep 0.05; done' },
        expect: (j) => j.status === 'Failed' && /JOB_STORAGE_LIMIT/.test(j.steps[0]?.reason ?? ''),
      },
      'log flood': { step: { script: 'yes flood | head -c 8000000; echo done' }, expect: (j) => j.status === 'Succeeded' },
      'snoops for the Docker socket': {
        step: { script: 'ls /var/run/docker.sock /run/docker.sock 2>/dev/null && exit 1; env | grep -q -E "AUTH_KEY|TEMPORAL_|NATS_" && exit 1; echo clean' },
        expect: (j) => j.status === 'Succeeded' && j.steps[0]?.outputTail?.trim() === 'clean',
      },
    };
    const hostileIds = new Map<string, string>();
    let afterHostile: string | undefined;
    let faultsOver: () => void = () => undefined;
    const afterFaults = new Promise<void>((resolve) => (faultsOver = resolve));
    const hostileLoad = (async () => {
      await afterFaults;
      for (const [name, h] of Object.entries(hostile)) {
        await sleep(between(500, 2500));
        for (let attempt = 0; attempt < 60 && !hostileIds.has(name); attempt++) {
          const res = await request<{ job_id: string }>(`${api}/build`, { method: 'POST', json: { name: `hostile: ${name}`, steps: [{ id: 1, name, image: images.busybox, ...h.step }] } }).catch(() => undefined);
          if (res?.status === 200) hostileIds.set(name, res.body.job_id);
          else await sleep(500);
        }
      }
      const after = await request<{ job_id: string }>(`${api}/build`, { method: 'POST', json: { name: 'after the hostile jobs', steps: [{ id: 1, name: 'plain', image: images.busybox, script: 'echo "chaos-line $UUID 1"' }] } });
      if (after.status === 200) afterHostile = after.body.job_id;
    })();

    // Bad input, in the load: invalid bodies over HTTP (never a 5xx but a 503 while a server is
    // down) and random bytes on the job subjects (each to the dead letters).
    const badBodies = fc.sample(fc.oneof(fc.jsonValue(), fc.record({ name: fc.anything(), steps: fc.anything() })), { numRuns: 40, seed }).filter((b) => !parseJobPayload(b).ok);
    let badTried = 0;
    let bodiesTried = 0;
    const badAnswers: string[] = [];
    let garbagePublished = 0;
    const badLoad = (async () => {
      for (const [i, body] of badBodies.entries()) {
        await sleep(between(100, 400));
        if (i % 2 === 0) {
          badTried++;
          bodiesTried++;
          const res = await request(`${api}/build`, { method: 'POST', json: body }).catch(() => undefined);
          if (res && res.status >= 500 && res.status !== 503) badAnswers.push(`${res.status} for ${JSON.stringify(body).slice(0, 80)}`);
          if (res?.status === 200) badAnswers.push(`200 for ${JSON.stringify(body).slice(0, 80)}`);
        } else {
          badTried++;
          const bytes = fc.sample(fc.uint8Array({ maxLength: 2000 }), { numRuns: 1, seed: seed + i })[0] ?? new Uint8Array();
          const acked = await (async () => {
            const nc = await connect({ servers: nats?.address ?? '', timeout: 2000 });
            try {
              await nc.jetstream().publish(`${env.NATS_JOB_SUBJECT_PREFIX}.${['high', 'medium', 'low'][i % 3]}`, bytes, { timeout: 2000 });
              return true;
            } finally {
              await nc.close();
            }
          })().catch(() => false);
          if (acked) garbagePublished++;
        }
      }
    })();

    // The faults, in a shuffled order, each at a random moment while the load runs.
    const restartRole = async (name: string, ready: string) => {
      const role = roles.get(name);
      assert.ok(role);
      role.process.kill('SIGKILL');
      await role.process.exited;
      await sleep(between(200, 2000));
      role.process = spawnHades(role.env);
      await role.process.logged(ready, 180_000);
    };
    /** SIGKILLs a server's process group, waits until it is gone, then a moment more. */
    const killServer = async (pid: number | undefined) => {
      if (pid) {
        process.kill(-pid, 'SIGKILL');
        await exitedOf(pid);
      }
      await sleep(between(200, 2000));
    };
    const faults: Record<string, () => Promise<void>> = {
      worker: () => restartRole('worker', 'worker running'),
      bridge: () => restartRole('bridge', 'bridge running'),
      api: () => restartRole('api', 'api listening'),
      'nats-server': async () => {
        await killServer(nats?.pid);
        nats = await startNats(natsOptions);
      },
      'temporal server': async () => {
        await killServer(temporal?.pid);
        temporal = await startTemporal(temporalOptions);
      },
    };
    const plan = Array.from({ length: rounds }, () => Object.keys(faults)).flat();
    for (let i = plan.length - 1; i > 0; i--) {
      const j = between(0, i + 1);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    // The Docker daemon once, somewhere in the first round.
    plan.splice(between(0, Object.keys(faults).length + 1), 0, 'dockerd');
    const injected: string[] = [];
    try {
      for (const fault of plan) {
        await sleep(between(500, 3000));
        if (fault === 'dockerd') {
          await daemon.stop();
          daemon = await startSecondDockerd(daemonOptions);
        } else {
          await faults[fault]!();
        }
        injected.push(fault);
      }
    } finally {
      // Also when a fault failed: the load and the hostile jobs must end, not wait for ever.
      faultsDone = true;
      faultsOver();
    }
    await Promise.all([load, hostileLoad, badLoad]);
    accepted.push(...hostileIds.values(), ...(afterHostile ? [afterHostile] : []));

    // Every accepted job ends (read from Temporal; a job only queued reads Queued in the API).
    const ended = new Map<string, JobState>();
    const lost: string[] = [];
    const drainBegan = Date.now();
    await until(
      'every accepted job to end',
      async () => {
        for (const id of accepted) {
          if (ended.has(id)) continue;
          const res = await request<JobState>(`${api}/jobs/${id}`).catch(() => undefined);
          if (res?.status === 200 && terminalStatuses.has(res.body.status)) ended.set(id, res.body);
        }
        return ended.size === accepted.length;
      },
      600_000,
      1000,
    ).catch(() => undefined);
    for (const id of accepted) if (!ended.has(id)) lost.push(id);
    const drainMs = Date.now() - drainBegan;
    // And whatever else was started (a job the API queued just before it was killed, unanswered).
    await until('no workflow to run any more', async () => (await client.workflow.count('ExecutionStatus = "Running"')).count === 0, 300_000, 1000).catch(() => undefined);

    // Exactly once: one workflow run per job, each step's own line in its logs once at most.
    const twice: string[] = [];
    let missingLines = 0;
    const missingExamples: string[] = [];
    const hostileJobs = new Set(hostileIds.values());
    for (const id of accepted) {
      const runs = (await client.workflow.count(`WorkflowId = '${id}'`)).count;
      if (hostileJobs.has(id)) {
        if (runs > 1) twice.push(`${id}: ${runs} workflow runs`);
        continue;
      }
      if (runs > 1) twice.push(`${id}: ${runs} workflow runs`);
      const logs = await request<{ logs: StepLogs[] }>(`${api}/jobs/${id}/logs`);
      const lines = (logs.body.logs ?? []).flatMap((s) => s.logs.map((l) => l.message)).filter((m) => m.startsWith('chaos-line '));
      const counts = new Map<string, number>();
      for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
      for (const [line, n] of counts) if (n > 1) twice.push(`${id}: "${line}" ${n} times`);
      const job = ended.get(id);
      const ran = job?.steps.filter((s) => s.status !== 'Skipped' && s.status !== 'Pending' && s.status !== 'Cancelled').length ?? 0;
      if (ran > counts.size && missingExamples.length < 5) missingExamples.push(`${id} (${job?.status}, logs answer ${logs.status}, ${lines.length} lines of ${ran} steps)`);
      missingLines += Math.max(0, ran - counts.size);
    }

    // Nothing left: containers and volumes on the jobs' daemon, messages in the job queue.
    const jd = jobDocker();
    const containers = await jd.listContainers({ all: true, filters: { label: [labels.job] } });
    const { Volumes } = await jd.listVolumes({ filters: { label: [labels.job] } });
    const nc = await connect({ servers: nats.address });
    const consumer = await (await nc.jetstreamManager()).consumers.info(env.NATS_JOB_STREAM!, env.NATS_CONSUMER!);
    await nc.close();
    const leaked = [
      ...containers.map((c) => `container ${c.Names[0] ?? c.Id} (job ${c.Labels[labels.job] ?? '?'})`),
      ...(Volumes ?? []).map((v) => `volume ${v.Name} (job ${v.Labels?.[labels.job] ?? '?'})`),
      ...(consumer.num_pending + consumer.num_ack_pending > 0 ? [`${consumer.num_pending} queued and ${consumer.num_ack_pending} unacked job messages`] : []),
    ];

    // Hostile jobs ended as they should; garbage reached the dead letters, once each.
    const uncontained = Object.entries(hostile).flatMap(([name, h]) => {
      const id = hostileIds.get(name);
      const job = id ? ended.get(id) : undefined;
      return job && h.expect(job) ? [] : [`${name}: ${job ? `${job.status} ${job.reason ?? ''}` : 'never accepted or never ended'}`];
    });
    const plainAfter = afterHostile ? ended.get(afterHostile) : undefined;
    if (plainAfter?.status !== 'Succeeded') uncontained.push(`the plain job after them: ${plainAfter ? `${plainAfter.status} ${plainAfter.reason ?? ''}` : 'never accepted or never ended'}`);
    const nc2 = await connect({ servers: nats.address });
    const deadInfo = await (await nc2.jetstreamManager()).streams.info(`${env.NATS_JOB_STREAM}_DEAD`).catch(() => undefined);
    await nc2.close();
    const dead = deadInfo?.state.messages ?? 0;
    if (dead < garbagePublished) badAnswers.push(`${garbagePublished} garbage messages published, ${dead} in the dead letters`);

    const byStatus = [...ended.values()].reduce<Record<string, number>>((acc, j) => ({ ...acc, [j.status]: (acc[j.status] ?? 0) + 1 }), {});
    console.log(
      [
        '',
        `chaos (seed ${seed}, ${((Date.now() - t0) / 1000).toFixed(0)} s, drain ${(drainMs / 1000).toFixed(0)} s)`,
        '| | |',
        '|---|---|',
        `| ordinary jobs submitted | ${submitted} |`,
        `| jobs accepted (200), hostile ones and the one after them included | ${accepted.length} |`,
        `| refused while a fault was on | ${refused} |`,
        `| ended | ${ended.size} (${Object.entries(byStatus).map(([s, n]) => `${s} ${n}`).join(', ')}) |`,
        `| lost | ${lost.length} |`,
        `| run twice | ${twice.length} |`,
        `| leaked resources | ${leaked.length} |`,
        `| step lines missing from the logs | ${missingLines}${missingExamples.length ? ` (${missingExamples.join('; ')})` : ''} |`,
        `| faults injected | ${injected.length} (${injected.join(', ')}) |`,
        `| bad inputs tried | ${badTried} (${bodiesTried} bodies over HTTP, ${badTried - bodiesTried} messages on the job subjects of which ${garbagePublished} were taken; ${badAnswers.length} mishandled) |`,
        `| hostile jobs contained | ${Object.keys(hostile).length - uncontained.length} of ${Object.keys(hostile).length} (${Object.keys(hostile).join(', ')}) |`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(lost, [], 'lost jobs');
    assert.deepEqual(twice, [], 'run twice');
    assert.deepEqual(leaked, [], 'leaked');
    assert.deepEqual(badAnswers, [], 'bad input mishandled');
    assert.deepEqual(uncontained, [], 'hostile jobs not contained');
    for (const [name, r] of roles) assert.equal(r.process.child.exitCode, null, `${name} is still running:\n${r.process.output().slice(-2000)}`);
  });
});
