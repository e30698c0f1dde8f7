// Single-job latency: POST /build → Succeeded seen by the client (GET /jobs/{id} every 10 ms),
// for 1, 3 and 10 steps running `true`, beside as many sequential `docker run --rm`.
import type { Role } from '../stack';
import { postJob, rawDockerRuns, stepsJob } from '../stack';
import { summarize } from '../stats';
import type { Summary } from '../stats';
import { pollEnd } from '../watch';

export interface LatencyResult {
  steps: number;
  hades: Summary;
  raw: Summary;
}

export async function latency(api: Role, runs: number, stepCounts: number[] = [1, 3, 10]): Promise<LatencyResult[]> {
  const url = api.url!;
  // Warm-up: connections, the workflow cache, the image's first start.
  await pollEnd(url, await postJob(url, stepsJob('warm-up', 1)));
  await rawDockerRuns(2, 1, 'true');
  const out: LatencyResult[] = [];
  for (const steps of stepCounts) {
    const hades: number[] = [];
    const raw: number[] = [];
    // Interleaved, so both see the same machine (a shared machine drifts over minutes).
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const id = await postJob(url, stepsJob(`latency ${steps}`, steps));
      const end = await pollEnd(url, id);
      if (end.status !== 'Succeeded') throw new Error(`latency job ${id} ${end.status}`);
      hades.push(performance.now() - t0);
      raw.push(await rawDockerRuns(1, 1, 'true', steps));
    }
    out.push({ steps, hades: summarize(hades), raw: summarize(raw) });
    console.log(`[bench] latency ${steps} step(s): hades median ${hades.length && summarize(hades).median.toFixed(0)} ms, docker run ${summarize(raw).median.toFixed(0)} ms`);
  }
  return out;
}
