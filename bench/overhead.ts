// `npm run bench`: what a job costs on top of its container. Runs the same one-step job N times
// through Hades (POST /build → Succeeded, polled every 20 ms) and as raw `docker run --rm`,
// sequentially on this machine, and prints medians and p95s. Figures, never assertions.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseConfig } from '../src/config';
import { runHades } from '../src/main/run';
import { freePorts, killOnExit, tracked, projectRoot, startNats, startTemporal } from '../scripts/services';
import type { Service } from '../scripts/services';

const N = Number(process.env.BENCH_RUNS ?? 20);
const image = process.env.HADES_TEST_BUSYBOX_IMAGE ?? 'hades-test/busybox:1';

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return `median ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, min ${at(0).toFixed(0)} ms`;
}

async function timeJob(apiPort: number, steps: number): Promise<number> {
  const job = { name: 'bench', steps: Array.from({ length: steps }, (_, i) => ({ id: i + 1, image, script: 'echo hi' })) };
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${apiPort}/build`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) });
  const { job_id: id } = (await res.json()) as { job_id: string };
  for (;;) {
    const state = (await (await fetch(`http://127.0.0.1:${apiPort}/jobs/${id}`)).json()) as { status: string };
    if (state.status === 'Succeeded') return performance.now() - t0;
    if (['Failed', 'Cancelled', 'TimedOut'].includes(state.status)) throw new Error(`bench job ${state.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const dir = join(projectRoot, '.hades', 'bench');
  const services: (Service & { pid?: number })[] = [];
  killOnExit(services);
  const [tPort, nPort] = await freePorts(2);
  await Promise.all([
    tracked(services, startTemporal({ port: tPort, logDir: dir })),
    tracked(services, startNats({ port: nPort, storeDir: join(dir, `nats-${nPort}`), logDir: dir })),
  ]);
  const hades = await runHades(
    parseConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${tPort}`, NATS_URL: `nats://127.0.0.1:${nPort}`, API_PORT: '0', API_HOST: '127.0.0.1', LOG_LEVEL: 'warn', CONCURRENCY: '1' }),
  );
  try {
    const raw: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      execFileSync('docker', ['run', '--rm', image, 'sh', '-c', 'echo hi'], { stdio: 'ignore' });
      raw.push(performance.now() - t0);
    }
    await timeJob(hades.apiPort!, 1); // warm-up: workflow cache, connections
    const one: number[] = [];
    for (let i = 0; i < N; i++) one.push(await timeJob(hades.apiPort!, 1));
    const three: number[] = [];
    for (let i = 0; i < Math.ceil(N / 2); i++) three.push(await timeJob(hades.apiPort!, 3));
    const rawMedian = [...raw].sort((a, b) => a - b)[Math.floor(raw.length / 2)] ?? 0;
    const oneMedian = [...one].sort((a, b) => a - b)[Math.floor(one.length / 2)] ?? 0;
    console.log(`raw docker run --rm (${N}x):        ${stats(raw)}`);
    console.log(`Hades 1-step job, submit→Succeeded (${N}x): ${stats(one)}`);
    console.log(`Hades 3-step job, submit→Succeeded (${three.length}x): ${stats(three)}`);
    console.log(`overhead of a 1-step job over docker run (medians): ${(oneMedian - rawMedian).toFixed(0)} ms`);
  } finally {
    await hades.stop();
    await Promise.allSettled(services.map((s) => s.stop()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
