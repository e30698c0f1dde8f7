// Status reads: GET /jobs/{id} and GET /jobs at 200 requests per second while 4 jobs run, each
// request sent on its own schedule (every 5 ms, open loop), as many clients polling do. (autocannon
// with a rate sends each connection's share in bursts: ten requests arriving at once, the last
// waits for nine, and its p99 measured the bursts: 44-176 ms where evenly paced reads see ~20.)
import { Client, Connection } from '@temporalio/client';
import type { BenchEnv } from '../stack';
import { oneStepJob, postJob, startRole } from '../stack';
import { summarize } from '../stats';
import { watchFeed } from '../watch';

export interface StatusReadResult {
  route: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export async function statusReads(env: BenchEnv, stack: Record<string, string>, seconds: number): Promise<StatusReadResult[]> {
  const feed = watchFeed(env.nc, stack.NATS_EVENTS_SUBJECT_PREFIX!);
  const api = await startRole(stack, 'api,bridge');
  const worker = await startRole(stack, 'worker', { CONCURRENCY: '4' });
  const out: StatusReadResult[] = [];
  try {
    const ids = await Promise.all([0, 1, 2, 3].map((i) => postJob(api.url!, oneStepJob(`reads ${i}`, 'sleep 600'))));
    while (!ids.every((id) => feed.started.has(id))) await new Promise((r) => setTimeout(r, 50));
    for (const route of [`/jobs/${ids[0]!}`, '/jobs?limit=20']) {
      const get = async () => {
        const res = await fetch(`${api.url!}${route}`);
        await res.text();
        return res.status === 200;
      };
      // Warm-up, not counted: a new API process compiles its hot paths on the first requests.
      await atRate(50, 2, get);
      const r = await atRate(200, seconds, get);
      out.push({ route: route.startsWith('/jobs/') ? 'GET /jobs/{id}' : 'GET /jobs', ...r });
      console.log(`[bench] ${route}: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}, non-2xx ${r.non2xx}`);
    }
    // The same read straight from Temporal (describe, what GET /jobs/{id} asks it), at the same
    // rate: how much of the figure above is Temporal's.
    const connection = await Connection.connect({ address: env.temporalAddress });
    try {
      const handle = new Client({ connection }).workflow.getHandle(ids[0]!);
      const describe = async () => Boolean(await handle.describe());
      await atRate(50, 2, describe);
      const direct = await atRate(200, seconds, describe);
      out.push({ route: 'Temporal describe (no API)', ...direct });
      console.log(`[bench] describe straight from Temporal: ${direct.requestsPerSecond.toFixed(0)} req/s, p50 ${direct.p50.toFixed(1)} ms, p99 ${direct.p99.toFixed(1)} ms`);
    } finally {
      await connection.close();
    }
    await Promise.all(ids.map((id) => fetch(`${api.url!}/jobs/${id}/cancel`, { method: 'POST' }).then((res) => res.text())));
    await feed.allEnded(ids);
  } finally {
    await worker.stop();
    await api.stop();
    feed.close();
  }
  return out;
}

/**
 * Calls `read` `rate` times a second for `seconds`, each call at its own time whatever the
 * others do (open loop); their latencies. `read` resolves true for a 2xx answer.
 */
async function atRate(rate: number, seconds: number, read: () => Promise<boolean>): Promise<Omit<StatusReadResult, 'route'>> {
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const calls: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const s0 = performance.now();
    calls.push(
      read().then(
        (ok) => {
          latencies.push(performance.now() - s0);
          if (!ok) non2xx++;
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(calls);
  const { median, p99 } = summarize(latencies);
  return { requestsPerSecond: (latencies.length * 1000) / (performance.now() - t0), p50: median, p99, errors, non2xx };
}
