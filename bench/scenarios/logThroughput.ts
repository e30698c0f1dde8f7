// Log throughput: a step that writes `mb` MB to stdout, from submission to Succeeded, beside the
// same container with its output discarded; the API's memory while a client follows the live
// log stream (SSE) of that job.
import type { BenchEnv } from '../stack';
import { image, oneStepJob, postJob, rawDockerRead, rawDockerRuns, rssMiB, sampleRss, startRole } from '../stack';
import { pollEnd } from '../watch';

export interface LogResult {
  megabytes: number;
  hadesSeconds: number;
  rawSeconds: number;
  /** The same `docker run --rm` with its output read by its client: what Docker itself costs. */
  rawReadSeconds?: number;
  apiRssBefore: number;
  apiRssPeak: number;
  /** Bytes the SSE client received. */
  streamedBytes: number;
}

export async function logThroughput(_env: BenchEnv, stack: Record<string, string>, mb: number): Promise<LogResult> {
  const script = `yes "$(printf '%099d' 0)" | head -c ${mb * 1_000_000}`;
  const api = await startRole(stack, 'api,bridge');
  const worker = await startRole(stack, 'worker', { CONCURRENCY: '1' });
  try {
    const apiRssBefore = rssMiB(api.pid);
    const sampler = sampleRss({ api: api.pid });
    const t0 = performance.now();
    const id = await postJob(api.url!, oneStepJob('log throughput', script));
    let streamedBytes = 0;
    const streaming = (async () => {
      const res = await fetch(`${api.url!}/jobs/${id}/logs/stream`);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) streamedBytes += chunk.length;
    })();
    const end = await pollEnd(api.url!, id, 10);
    const hadesSeconds = (performance.now() - t0) / 1000;
    await streaming;
    const apiRssPeak = sampler.stop().api ?? NaN;
    if (end.status !== 'Succeeded') throw new Error(`log job ${end.status}`);
    const rawSeconds = (await rawDockerRuns(1, 1, `${script} > /dev/null`)) / 1000;
    const read = await rawDockerRead(script);
    if (read.bytes !== mb * 1_000_000) throw new Error(`docker run gave ${read.bytes} bytes, not ${mb * 1_000_000}`);
    const rawReadSeconds = read.ms / 1000;
    console.log(
      `[bench] logs: ${mb} MB through Hades ${hadesSeconds.toFixed(1)} s, discarded ${rawSeconds.toFixed(1)} s, read by docker run's client ${rawReadSeconds.toFixed(1)} s (${image}); API ${apiRssBefore.toFixed(0)} → peak ${apiRssPeak.toFixed(0)} MiB`,
    );
    return { megabytes: mb, hadesSeconds, rawSeconds, rawReadSeconds, apiRssBefore, apiRssPeak, streamedBytes };
  } finally {
    await worker.stop();
    await api.stop();
  }
}
