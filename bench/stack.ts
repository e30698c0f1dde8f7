// What the bench runs on: a Temporal dev server and NATS on free ports, and Hades as production
// runs it — one process per role (API, bridge, worker), so each one's memory is its own.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { connect } from 'nats';
import type { NatsConnection } from 'nats';
import { freePorts, killOnExit, projectRoot, startNats, startTemporal, tracked } from '../scripts/services';
import type { Service } from '../scripts/services';
import { spawnHades } from '../test/helpers/hadesProcess';
import type { HadesProcess } from '../test/helpers/hadesProcess';

export const image = process.env.HADES_TEST_BUSYBOX_IMAGE ?? 'hades-test/busybox:1';
const run = promisify(execFile);

export interface BenchEnv {
  dir: string;
  temporalAddress: string;
  natsUrl: string;
  bundle: string;
  nc: NatsConnection;
  /** The servers' process groups (their pids), for CPU accounting. */
  serverPids: { temporal?: number; nats?: number };
  stop(): Promise<void>;
}

export async function startServers(): Promise<BenchEnv> {
  const dir = join(projectRoot, '.hades', 'bench');
  mkdirSync(dir, { recursive: true });
  const services: (Service & { pid?: number })[] = [];
  killOnExit(services);
  const [tPort, nPort] = await freePorts(2);
  const quiet = () => undefined;
  const [temporal, nats, bundle] = await Promise.all([
    tracked(services, startTemporal({ port: tPort, logDir: dir })),
    tracked(services, startNats({ port: nPort, storeDir: join(dir, `nats-${nPort}`), logDir: dir })),
    bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error } }),
  ]);
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  const natsUrl = `nats://127.0.0.1:${nPort}`;
  const nc = await connect({ servers: natsUrl });
  return {
    dir,
    temporalAddress: `127.0.0.1:${tPort}`,
    natsUrl,
    bundle: bundlePath,
    nc,
    serverPids: { temporal: temporal.pid, nats: nats.pid },
    async stop() {
      await nc.close();
      await Promise.allSettled(services.map((s) => s.stop()));
    },
  };
}

/** One Hades role in a process of its own; `api` answers on `url`. */
export interface Role {
  process: HadesProcess;
  pid: number;
  url?: string;
  stop(): Promise<void>;
}

/** The env every role of one bench stack shares: its own stream, subjects, buckets, task queue. */
export function stackEnv(env: BenchEnv, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: env.temporalAddress,
    NATS_URL: env.natsUrl,
    HADES_WORKFLOW_BUNDLE: env.bundle,
    TEMPORAL_TASK_QUEUE: `bench-${name}`,
    NATS_JOB_STREAM: `BENCH_JOBS_${name}`,
    NATS_JOB_SUBJECT_PREFIX: `bench.${name}.jobs`,
    NATS_CONSUMER: `bridge-${name}`,
    NATS_SUBMISSIONS_BUCKET: `BENCH_SUBMISSIONS_${name}`,
    NATS_STARTED_BUCKET: `BENCH_STARTED_${name}`,
    NATS_PAYLOAD_BUCKET: `BENCH_PAYLOADS_${name}`,
    NATS_LOG_STREAM: `BENCH_LOGS_${name}`,
    NATS_LOG_SUBJECT_PREFIX: `bench.${name}.logs`,
    NATS_STATUS_SUBJECT_PREFIX: `bench.${name}.jobstatus`,
    NATS_EVENTS_SUBJECT_PREFIX: `bench.${name}.jobevents`,
    LOG_STREAM_MAX_BYTES: '2G',
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    ...extra,
  };
}

export async function startRole(env: Record<string, string>, roles: string, extra: Record<string, string> = {}): Promise<Role> {
  const p = spawnHades({ ...env, HADES_ROLES: roles, ...extra });
  const ready = roles.includes('api') ? await p.logged('api listening', 180_000) : await p.logged(roles.includes('worker') ? 'worker running' : 'bridge running', 180_000);
  const pid = p.child.pid;
  if (pid === undefined) throw new Error(`the ${roles} process did not start`);
  return {
    process: p,
    pid,
    ...(roles.includes('api') && { url: `http://127.0.0.1:${String(ready.port)}` }),
    async stop() {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      p.kill('SIGTERM');
      await p.exited;
    },
  };
}

/** A process's resident memory now, in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples processes' resident memory every `everyMs` until stopped: the peak of each. */
export function sampleRss(pids: Record<string, number>, everyMs = 250): { stop(): Record<string, number> } {
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  const take = () => {
    for (const [name, pid] of Object.entries(pids)) {
      try {
        peak[name] = Math.max(peak[name] ?? 0, rssMiB(pid));
      } catch {
        /* gone */
      }
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

/** `docker run --rm` of the bench image, `count` times, in `parallel` loops: the wall time (ms). */
export async function rawDockerRuns(count: number, parallel: number, script: string, sequential = 1): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        for (let s = 0; s < sequential; s++) await run('docker', ['run', '--rm', image, 'sh', '-c', script]);
      }
    }),
  );
  return performance.now() - t0;
}

/**
 * One `docker run --rm` whose client reads all of the container's output (as a caller of
 * `docker run` does): the floor for any tool that reads it. Resolves with ms and bytes read.
 */
export async function rawDockerRead(script: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const child = spawn('docker', ['run', '--rm', image, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let bytes = 0;
  child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
  if (code !== 0) throw new Error(`docker run exited ${code}`);
  return { ms: performance.now() - t0, bytes };
}

export async function postJob(apiUrl: string, job: unknown): Promise<string> {
  const res = await fetch(`${apiUrl}/build`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) });
  if (res.status !== 200) throw new Error(`POST /build: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { job_id: string }).job_id;
}

export const oneStepJob = (name: string, script = 'true', extra: Record<string, unknown> = {}) => ({ name, ...extra, steps: [{ id: 1, image, script }] });
export const stepsJob = (name: string, steps: number, script = 'true') => ({ name, steps: Array.from({ length: steps }, (_, i) => ({ id: i + 1, image, script })) });
