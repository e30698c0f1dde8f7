// Status reads: GET /jobs/{id} and GET /jobs at 200 requests per second while 4 jobs run.
import autocannon from 'autocannon';
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
    await Promise.all(ids.map((id) => fetch(`${api.url!}/jobs/${id}/cancel`, { method: 'POST' }).then((res) => res.text())));
    await feed.allEnded(ids);
  } finally {
    await worker.stop();
    await api.stop();
    feed.close();
  }
  return out;
}
