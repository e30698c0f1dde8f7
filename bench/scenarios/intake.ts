// Intake: POST /build requests per second and latency at 20 and 100 connections, with no bridge
// or worker running (every accepted job waits in JetStream), then the queue is drained (purged).
import autocannon from 'autocannon';
import type { BenchEnv } from '../stack';
import { oneStepJob, startRole } from '../stack';

export interface IntakeResult {
  connections: number;
  seconds: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  queued: number;
}

export async function intake(env: BenchEnv, stack: Record<string, string>, seconds: number, levels: number[] = [20, 100]): Promise<IntakeResult[]> {
  const api = await startRole(stack, 'api');
  const jsm = await env.nc.jetstreamManager();
  const out: IntakeResult[] = [];
  try {
    for (const connections of levels) {
      const r = await autocannon({
        url: `${api.url!}/build`,
        method: 'POST',
        connections,
        duration: seconds,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(oneStepJob('intake')),
      });
      const queued = (await jsm.streams.info(stack.NATS_JOB_STREAM!)).state.messages;
      out.push({ connections, seconds, requestsPerSecond: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, queued });
      console.log(`[bench] intake at ${connections} connections: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, errors ${r.errors + r.timeouts}, non-2xx ${r.non2xx}; ${queued} queued`);
      // Drained: what was accepted is dropped (a bench's jobs, never to run).
      await jsm.streams.purge(stack.NATS_JOB_STREAM!);
    }
  } finally {
    await api.stop();
  }
  return out;
}
