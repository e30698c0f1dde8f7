// `npm run bench`: every scenario beside its baseline, in one run on this machine; prints one
// table and writes it (JSON and Markdown) under bench/results/. Figures, never assertions.
// BENCH_ONLY=latency,throughput,intake,reads,backlog,drain,logs picks scenarios; sizes:
// BENCH_RUNS (30), BENCH_JOBS (100), BENCH_INTAKE_SECONDS (20), BENCH_BACKLOG (10000),
// BENCH_DRAIN (1000), BENCH_LOG_MB (200), BENCH_CANCEL_WAIT_SECONDS (60: how long the bulk
// cancel of the backlog is watched, for its rate).
import { join } from 'node:path';
import { projectRoot } from '../scripts/services';
import { machine, write } from './report';
import type { Results } from './report';
import { backlog, drain } from './scenarios/backlog';
import { intake } from './scenarios/intake';
import { latency } from './scenarios/latency';
import { logThroughput } from './scenarios/logThroughput';
import { statusReads } from './scenarios/statusReads';
import { throughput } from './scenarios/throughput';
import { stackEnv, startRole, startServers } from './stack';

const n = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const only = new Set((process.env.BENCH_ONLY ?? 'latency,throughput,intake,reads,backlog,drain,logs').split(',').map((s) => s.trim()));

async function main(): Promise<void> {
  const started = Date.now();
  const env = await startServers();
  const results: Results = {};
  try {
    if (only.has('latency')) {
      const stack = stackEnv(env, 'latency');
      const api = await startRole(stack, 'api,bridge');
      const worker = await startRole(stack, 'worker', { CONCURRENCY: '1' });
      try {
        results.latency = await latency(env, api, n('BENCH_RUNS', 30));
      } finally {
        await worker.stop();
        await api.stop();
      }
    }
    if (only.has('throughput')) results.throughput = await throughput(env, stackEnv(env, 'throughput'), n('BENCH_JOBS', 100));
    if (only.has('intake')) results.intake = await intake(env, stackEnv(env, 'intake'), n('BENCH_INTAKE_SECONDS', 20));
    if (only.has('reads')) results.statusReads = await statusReads(env, stackEnv(env, 'reads'), 10);
    if (only.has('backlog')) results.backlog = await backlog(env, stackEnv(env, 'backlog'), n('BENCH_BACKLOG', 10_000), n('BENCH_CANCEL_WAIT_SECONDS', 60));
    if (only.has('drain')) results.drain = await drain(env, stackEnv(env, 'drain'), n('BENCH_DRAIN', 1000));
    if (only.has('logs')) results.logs = await logThroughput(env, stackEnv(env, 'logs'), n('BENCH_LOG_MB', 200));
  } finally {
    await env.stop();
    // Whatever ran is written, also when a later scenario failed.
    const md = write(join(projectRoot, 'bench', 'results'), machine(), results);
    console.log(`\n${md}\n(bench took ${((Date.now() - started) / 60000).toFixed(1)} minutes)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
