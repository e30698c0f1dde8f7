// Throughput: `jobs` one-step jobs submitted at once, at CONCURRENCY 1, 4 and 8: jobs per second
// until all ended, beside as many `docker run --rm` in as many parallel loops, and the CPU each
// used per job. Then latency under load: the same load again, and for each job, from its
// container's exit (Docker's own `die` time) to the moment GET /jobs/{id} says it ended. Two
// passes, because polling every job every 10 ms is itself a load on two cores: it would slow the
// jobs it measures (measured here: 0.74x raw at 8 unobserved, 0.62x observed).
import { cpuMeter, stackGroups } from '../cpu';
import type { CpuUse } from '../cpu';
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
  /** Container exit → end visible in the API, ms (second pass, every job polled). */
  endVisible: Summary;
  /** CPU per job while Hades ran them (first pass), and while `docker run --rm` did. */
  cpu?: { hades: CpuUse; raw: CpuUse };
}

export async function throughput(env: BenchEnv, stack: Record<string, string>, jobs: number, levels: number[] = [1, 4, 8]): Promise<ThroughputResult[]> {
  const out: ThroughputResult[] = [];
  const feed = watchFeed(env.nc, stack.NATS_EVENTS_SUBJECT_PREFIX!);
  const dies = await watchDies();
  const api: Role = await startRole(stack, 'api,bridge');
  const submitAll = (label: string, onId: (id: string) => void = () => undefined) =>
    Promise.all(
      Array.from({ length: jobs }, async (_, i) => {
        const id = await postJob(api.url!, oneStepJob(`${label} ${i}`));
        onId(id);
        return id;
      }),
    );
  try {
    for (const concurrency of levels) {
      const worker = await startRole(stack, 'worker', { CONCURRENCY: String(concurrency) });
      try {
        const groups = stackGroups({ api: api.pid, worker: worker.pid }, { temporal: env.serverPids.temporal, nats: env.serverPids.nats });
        // Pass 1, unobserved: how fast, and what it costs.
        const hadesCpu = cpuMeter(groups);
        const t0 = performance.now();
        await feed.allEnded(await submitAll(`throughput ${concurrency}`));
        const hadesMs = performance.now() - t0;
        const hades = hadesCpu.stop(jobs);
        const rawCpu = cpuMeter(groups);
        const rawMs = await rawDockerRuns(jobs, concurrency, 'true');
        const raw = rawCpu.stop(jobs);

        // Pass 2, observed: a job's container may exit before its POST's answer is read, so its
        // die waits in `early`.
        const ids = new Set<string>();
        const early = new Map<string, number>();
        const visible: Promise<number>[] = [];
        const measure = (job: string, at: number) => visible.push(pollEnd(api.url!, job, 10).then((end) => end.at - at));
        const off = dies.onDie((job, at) => (ids.has(job) ? measure(job, at) : early.set(job, at)));
        const observed = await submitAll(`end visible ${concurrency}`, (id) => {
          ids.add(id);
          const died = early.get(id);
          if (died !== undefined) measure(id, died);
        });
        await feed.allEnded(observed);
        const lags = await Promise.all(visible);
        off();

        const r = { concurrency, jobs, hadesJobsPerSecond: (jobs * 1000) / hadesMs, rawJobsPerSecond: (jobs * 1000) / rawMs, endVisible: summarize(lags), cpu: { hades, raw } };
        const per = (u: CpuUse) => Object.entries(u.perJobMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
        console.log(`[bench] throughput at ${concurrency}: hades ${r.hadesJobsPerSecond.toFixed(2)} jobs/s, docker run ${r.rawJobsPerSecond.toFixed(2)} jobs/s; end visible p50 ${r.endVisible.median.toFixed(0)} ms`);
        console.log(`[bench]   CPU ms per job, Hades (${(hades.busyShare * 100).toFixed(0)} % busy): ${per(hades)}; docker run (${(raw.busyShare * 100).toFixed(0)} % busy): ${per(raw)}`);
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
