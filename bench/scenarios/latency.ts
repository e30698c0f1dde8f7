// Single-job latency: POST /build → Succeeded seen by the client (GET /jobs/{id} every 10 ms),
// for 1, 3 and 10 steps running `true`, beside as many sequential `docker run --rm`.
import { Client, Connection } from '@temporalio/client';
import { jobPhases } from '../phases';
import type { JobPhases } from '../phases';
import type { BenchEnv, Role } from '../stack';
import { postJob, rawDockerRuns, stepsJob } from '../stack';
import { summarize } from '../stats';
import type { Summary } from '../stats';
import { pollEnd } from '../watch';

export interface LatencyResult {
  steps: number;
  hades: Summary;
  raw: Summary;
  /** One-step jobs: the median of each phase of a job's time (ms), from its history. */
  phases?: Record<keyof JobPhases, number>;
}

export async function latency(env: BenchEnv, api: Role, runs: number, stepCounts: number[] = [1, 3, 10]): Promise<LatencyResult[]> {
  const url = api.url!;
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection });
  // Warm-up: connections, the workflow cache, the image's first start.
  await pollEnd(url, await postJob(url, stepsJob('warm-up', 1)));
  await rawDockerRuns(2, 1, 'true');
  const out: LatencyResult[] = [];
  for (const steps of stepCounts) {
    const hades: number[] = [];
    const raw: number[] = [];
    const phases: JobPhases[] = [];
    // Interleaved, so both see the same machine (a shared machine drifts over minutes).
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const postedAt = Date.now();
      const id = await postJob(url, stepsJob(`latency ${steps}`, steps));
      const end = await pollEnd(url, id);
      if (end.status !== 'Succeeded') throw new Error(`latency job ${id} ${end.status}`);
      hades.push(performance.now() - t0);
      const p = steps === 1 ? await jobPhases(client, id, postedAt, end.at) : undefined;
      if (p) phases.push(p);
      raw.push(await rawDockerRuns(1, 1, 'true', steps));
    }
    const median = (k: keyof JobPhases) => summarize(phases.map((p) => p[k])).median;
    out.push({
      steps,
      hades: summarize(hades),
      raw: summarize(raw),
      ...(phases.length > 0 && {
        phases: { intake: median('intake'), firstTask: median('firstTask'), dispatch: median('dispatch'), activity: median('activity'), lastTask: median('lastTask'), seen: median('seen') },
      }),
    });
    console.log(`[bench] latency ${steps} step(s): hades median ${hades.length && summarize(hades).median.toFixed(0)} ms, docker run ${summarize(raw).median.toFixed(0)} ms`);
  }
  await connection.close();
  return out;
}
