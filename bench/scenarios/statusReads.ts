// Status reads: GET /jobs/{id} and GET /jobs at 200 requests per second while 4 jobs run.
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import type { BenchEnv } from '../stack';
import { oneStepJob, postJob, startRole } from '../stack';
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
      const r = await autocannon({ url: `${api.url!}${route}`, connections: 10, overallRate: 200, duration: seconds });
      out.push({ route: route.startsWith('/jobs/') ? 'GET /jobs/{id}' : 'GET /jobs', requestsPerSecond: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx });
      console.log(`[bench] ${route}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
    }
    // The same read straight from Temporal (describe, what GET /jobs/{id} asks it), at the same
    // rate: how much of the figure above is Temporal's.
    const direct = await describeAtRate(env.temporalAddress, ids[0]!, 200, seconds);
    out.push({ route: 'Temporal describe (no API)', ...direct, errors: 0, non2xx: 0 });
    console.log(`[bench] describe straight from Temporal: ${direct.requestsPerSecond.toFixed(0)} req/s, p50 ${direct.p50.toFixed(1)} ms, p99 ${direct.p99.toFixed(1)} ms`);
    await Promise.all(ids.map((id) => fetch(`${api.url!}/jobs/${id}/cancel`, { method: 'POST' }).then((res) => res.text())));
    await feed.allEnded(ids);
  } finally {
    await worker.stop();
    await api.stop();
    feed.close();
  }
  return out;
}

/** Describes the workflow `rate` times a second for `seconds` (each call on its own); latencies. */
async function describeAtRate(address: string, id: string, rate: number, seconds: number): Promise<{ requestsPerSecond: number; p50: number; p99: number }> {
  const connection = await Connection.connect({ address });
  try {
    const handle = new Client({ connection }).workflow.getHandle(id);
    const latencies: number[] = [];
    const calls: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < rate * seconds; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s0 = performance.now();
      calls.push(handle.describe().then(() => void latencies.push(performance.now() - s0)));
    }
    await Promise.all(calls);
    const sorted = latencies.sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
    return { requestsPerSecond: (latencies.length * 1000) / (performance.now() - t0), p50: at(0.5), p99: at(0.99) };
  } finally {
    await connection.close();
  }
}
