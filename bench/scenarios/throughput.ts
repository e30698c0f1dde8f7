// Throughput: `jobs` one-step jobs submitted at once, at CONCURRENCY 1, 4 and 8: jobs per second
// until all ended, beside as many `docker run --rm` in as many parallel loops. And latency under
// load: for each job, from its container's exit (Docker's own `die` time) to the moment
// GET /jobs/{id} says it ended.
import type { BenchEnv, Role } from '../stack';
import { oneStepJob, postJob, rawDockerRuns, startRole } from '../stack';
import { summarize } from '../stats';
import type { Summary } from '../stats';
import { pollEnd, watchDies, watchFeed } from '../watch';

export interface ThroughputResult {
  concurrency: number;
  jobs: number;
  hadesJobsPerSecond: number;
  rawJobsPerSecond: number;
  /** Container exit → end visible in the API, ms. */
  endVisible: Summary;
}

export async function throughput(env: BenchEnv, stack: Record<string, string>, jobs: number, levels: number[] = [1, 4, 8]): Promise<ThroughputResult[]> {
  const out: ThroughputResult[] = [];
  const feed = watchFeed(env.nc, stack.NATS_EVENTS_SUBJECT_PREFIX!);
  const dies = await watchDies();
  const api: Role = await startRole(stack, 'api,bridge');
  try {
    for (const concurrency of levels) {
      const worker = await startRole(stack, 'worker', { CONCURRENCY: String(concurrency) });
      try {
        // A job's container may exit before its POST's answer is read: its die waits in `early`.
        const ids = new Set<string>();
        const early = new Map<string, number>();
        const visible: Promise<number>[] = [];
        const measure = (job: string, at: number) => visible.push(pollEnd(api.url!, job, 10).then((end) => end.at - at));
        const off = dies.onDie((job, at) => (ids.has(job) ? measure(job, at) : early.set(job, at)));
        const t0 = performance.now();
        const submitted = await Promise.all(
          Array.from({ length: jobs }, async (_, i) => {
            const id = await postJob(api.url!, oneStepJob(`throughput ${concurrency} ${i}`));
            ids.add(id);
            const died = early.get(id);
            if (died !== undefined) measure(id, died);
            return id;
          }),
        );
        await feed.allEnded(submitted);
        const hadesMs = performance.now() - t0;
        const lags = await Promise.all(visible);
        off();
        const rawMs = await rawDockerRuns(jobs, concurrency, 'true');
        const r = { concurrency, jobs, hadesJobsPerSecond: (jobs * 1000) / hadesMs, rawJobsPerSecond: (jobs * 1000) / rawMs, endVisible: summarize(lags) };
        console.log(`[bench] throughput at ${concurrency}: hades ${r.hadesJobsPerSecond.toFixed(2)} jobs/s, docker run ${r.rawJobsPerSecond.toFixed(2)} jobs/s; end visible p50 ${r.endVisible.median.toFixed(0)} ms`);
        out.push(r);
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await api.stop();
    dies.close();
    feed.close();
  }
  return out;
}
