// Backlog: `queued` one-step low-priority jobs waiting while no worker runs: each process's
// memory; then workers start, and a high-priority job submitted behind the backlog: the time to
// its start; then the backlog is cancelled in bulk, as an operator does it (a Temporal batch
// cancel by query). And a drain: `drain` jobs queued, run at CONCURRENCY 8, beside as many
// `docker run --rm` in 8 parallel loops, with each process's peak memory while draining.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import Docker from 'dockerode';
import { projectRoot } from '../../scripts/services';
import type { BenchEnv } from '../stack';
import { oneStepJob, postJob, rawDockerRuns, rssMiB, sampleRss, startRole } from '../stack';
import { watchFeed } from '../watch';

const run = promisify(execFile);

export interface BacklogResult {
  queued: number;
  submitSeconds: number;
  /** Resident memory (MiB) with the backlog queued: API and bridge before workers run, the worker once it runs. */
  rss: Record<string, number>;
  /** Submission of a high-priority job behind the backlog → its first step running (ms). */
  highPriorityStartMs: number;
  /** The bulk cancel (time-boxed): how long it was watched (s), how many jobs it ended meanwhile, the command an operator runs. */
  cancelSeconds: number;
  cancelled: number;
  cancelRatePerSecond: number;
  cancelCommand: string;
}

export interface DrainResult {
  jobs: number;
  hadesSeconds: number;
  rawSeconds: number;
  peakRss: Record<string, number>;
}

async function submitMany(url: string, count: number, job: unknown): Promise<number> {
  const t0 = performance.now();
  const r = await autocannon({ url: `${url}/build`, method: 'POST', connections: Math.min(20, count), amount: count, headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) });
  if (r.non2xx + r.errors + r.timeouts > 0) throw new Error(`submitting ${count} jobs: ${r.non2xx} non-2xx, ${r.errors + r.timeouts} errors`);
  return (performance.now() - t0) / 1000;
}

async function bridgeCaughtUp(env: BenchEnv, stack: Record<string, string>): Promise<void> {
  const jsm = await env.nc.jetstreamManager();
  for (;;) {
    const c = await jsm.consumers.info(stack.NATS_JOB_STREAM!, stack.NATS_CONSUMER!);
    if (c.num_pending === 0 && c.num_ack_pending === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Jobs left running when the bench stops its worker: their containers and volumes go here, as the reaper would remove them. */
async function removeLeftovers(taskQueue: string): Promise<void> {
  const docker = new Docker();
  const owned = (await docker.listContainers({ all: true, filters: { label: ['io.hades.managed'] } })).filter((c) => (c.Labels['io.hades.owner'] ?? '').includes(taskQueue));
  await Promise.all(owned.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const { Volumes } = await docker.listVolumes({ filters: { label: ['io.hades.managed'] } });
  await Promise.all((Volumes ?? []).filter((v) => (v.Labels?.['io.hades.owner'] ?? '').includes(taskQueue)).map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
}

export async function backlog(env: BenchEnv, stack: Record<string, string>, queued: number, cancelWaitSeconds: number): Promise<BacklogResult> {
  const feed = watchFeed(env.nc, stack.NATS_EVENTS_SUBJECT_PREFIX!);
  const api = await startRole(stack, 'api');
  const bridge = await startRole(stack, 'bridge');
  let worker;
  try {
    const submitSeconds = await submitMany(api.url!, queued, oneStepJob('backlog', 'true', { priority: 1 }));
    await bridgeCaughtUp(env, stack);
    const rss: Record<string, number> = { api: rssMiB(api.pid), bridge: rssMiB(bridge.pid) };
    console.log(`[bench] backlog: ${queued} jobs queued in ${submitSeconds.toFixed(1)} s; api ${rss.api!.toFixed(0)} MiB, bridge ${rss.bridge!.toFixed(0)} MiB`);

    worker = await startRole(stack, 'worker', { CONCURRENCY: '8' });
    while (feed.started.size === 0) await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const high = await postJob(api.url!, oneStepJob('high priority behind the backlog', 'true', { priority: 3 }));
    while (!feed.started.has(high)) await new Promise((r) => setTimeout(r, 10));
    const highPriorityStartMs = feed.started.get(high)! - t0;
    rss.worker = rssMiB(worker.pid);
    console.log(`[bench] backlog: the high-priority job started ${highPriorityStartMs} ms after its submission; worker ${rss.worker.toFixed(0)} MiB`);

    // The operator's bulk cancel: one Temporal batch operation over the task queue's running jobs.
    const query = `TaskQueue = '${stack.TEMPORAL_TASK_QUEUE!}' AND ExecutionStatus = 'Running'`;
    const cancelCommand = `temporal workflow cancel --query "${query}" --reason "bulk cancel" --yes`;
    const temporalCli = join(projectRoot, '.tools', 'venv', 'bin', 'temporal');
    const endedBefore = feed.ended.size;
    const c0 = performance.now();
    await run(temporalCli, ['workflow', 'cancel', '--address', env.temporalAddress, '--query', query, '--reason', 'bench: bulk cancel', '--yes']);
    // Time-boxed: the figure is the rate; what is left after the box is terminated.
    const all = feed.allEnded(undefined, queued + 1);
    let boxed = false;
    await Promise.race([all, new Promise<void>((resolve) => setTimeout(() => ((boxed = true), resolve()), cancelWaitSeconds * 1000))]);
    const cancelSeconds = (performance.now() - c0) / 1000;
    const cancelled = feed.ended.size - endedBefore;
    const left = queued + 1 - feed.ended.size;
    console.log(`[bench] backlog: the bulk cancel ended ${cancelled} jobs in ${cancelSeconds.toFixed(1)} s (${(cancelled / cancelSeconds).toFixed(1)}/s)${boxed ? `; ${left} left to the throw-away server` : ''}`);
    if (boxed) {
      // The rest is left to the throw-away Temporal server (one batch runs at a time on it, so
      // no second batch could terminate them); their containers are removed here.
      await worker.stop();
      await removeLeftovers(stack.TEMPORAL_TASK_QUEUE!);
    }
    return { queued, submitSeconds, rss, highPriorityStartMs, cancelSeconds, cancelled, cancelRatePerSecond: cancelled / cancelSeconds, cancelCommand };
  } finally {
    await worker?.stop();
    await bridge.stop();
    await api.stop();
    feed.close();
  }
}

export async function drain(env: BenchEnv, stack: Record<string, string>, jobs: number): Promise<DrainResult> {
  const feed = watchFeed(env.nc, stack.NATS_EVENTS_SUBJECT_PREFIX!);
  const api = await startRole(stack, 'api');
  const bridge = await startRole(stack, 'bridge');
  let worker;
  try {
    await submitMany(api.url!, jobs, oneStepJob('drain'));
    await bridgeCaughtUp(env, stack);
    // From the moment the worker runs (its process start is not the drain's).
    worker = await startRole(stack, 'worker', { CONCURRENCY: '8' });
    const t0 = performance.now();
    const sampler = sampleRss({ api: api.pid, bridge: bridge.pid, worker: worker.pid });
    await feed.allEnded(undefined, jobs);
    const hadesSeconds = (performance.now() - t0) / 1000;
    const peakRss = sampler.stop();
    const rawSeconds = (await rawDockerRuns(jobs, 8, 'true')) / 1000;
    console.log(`[bench] drain of ${jobs}: hades ${hadesSeconds.toFixed(1)} s (from the moment its worker runs), docker run ${rawSeconds.toFixed(1)} s`);
    return { jobs, hadesSeconds, rawSeconds, peakRss };
  } finally {
    await worker?.stop();
    await bridge.stop();
    await api.stop();
    feed.close();
  }
}
