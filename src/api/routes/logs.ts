import type { Request, Response } from 'express';
import { Router } from 'express';
import { terminalStatuses } from '../../job';
import type { JobState } from '../../job';
import { writeStepLogsJson } from '../../logs/stepLogsJson';
import type { LogBatch } from '../../logs/types';
import type { ApiDeps } from '../deps';
import { createJobWatch } from '../stream/jobWatch';
import type { JobWatch } from '../stream/jobWatch';
import { writeWithBackpressure } from '../stream/writeWithBackpressure';
import { findJob, readJob } from './jobs';

export function logRoutes(deps: ApiDeps): Router {
  const router = Router();
  // One status read per followed job and interval, however many clients follow it.
  const onWait = () => deps.metrics?.logStreamWaits.inc();
  const watch = deps.jobWatch ?? createJobWatch({ read: (id) => readJob(deps, id), intervalMs: deps.followPollMs ?? 1000, ...(deps.logError && { logError: deps.logError }) });

  router.get('/jobs/:id/logs', async (req, res) => {
    const job = await findJob(deps, req.params.id);
    // The first batch is read before anything is sent, so NATS being away is still a 503.
    const batches = deps.logs.eachBatch(job.id);
    const first = await batches.next();
    res.status(200).type('application/json');
    try {
      await writeStepLogsJson(prepend(first, batches), (chunk) => writeWithBackpressure(res, chunk, onWait));
      res.end();
    } catch (err) {
      // Half an answer is out: the client sees a cut body, the log says why.
      deps.logError?.(err);
      res.destroy();
    }
  });

  router.get('/jobs/:id/logs/stream', async (req, res) => {
    const job = await findJob(deps, req.params.id);
    await streamLogs(deps, watch, onWait, job, req, res);
  });

  return router;
}

async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/** The line number a reconnecting client saw last (`Last-Event-ID`), or 0. */
export function resumePoint(lastEventId: string | undefined): number {
  return lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId.trim()) ? Number(lastEventId.trim()) : 0;
}

/**
 * Server-Sent Events: every line so far, then each new one as it is written; ends with an `end`
 * event once the job has ended and its last line was sent. Each `log` event's id is the line's
 * number in the job's log, so a client that reconnects with `Last-Event-ID` (browsers do) gets
 * only the lines after it. When the API shuts down, a `shutdown` event ends the stream.
 */
async function streamLogs(deps: ApiDeps, watch: JobWatch, onWait: () => void, first: JobState, req: Request, res: Response): Promise<void> {
  res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const abort = new AbortController();
  req.on('close', () => abort.abort());
  const resumeAfter = resumePoint(req.get('Last-Event-ID'));
  let lineNumber = 0;
  let last: LogBatch | undefined;
  let ended = false;

  // A client that reads slowly holds the stream back (no more is read from NATS meanwhile).
  const send = (event: string, data: unknown, id?: number) =>
    writeWithBackpressure(res, `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, onWait);
  const finish = (job: JobState) => {
    if (ended) return;
    ended = true;
    void send('end', { job_id: job.id, status: job.status, reason: job.reason });
    abort.abort();
  };
  const onClosing = () => {
    if (ended) return;
    ended = true;
    void send('shutdown', { job_id: first.id, message: 'this API is shutting down: reconnect with Last-Event-ID to continue after the last line' });
    abort.abort();
  };
  if (deps.closing?.aborted) onClosing();
  else deps.closing?.addEventListener('abort', onClosing, { once: true });
  const sameBatch = (a: LogBatch | undefined, b: LogBatch | undefined) => a?.stepIndex === b?.stepIndex && a?.offset === b?.offset && a?.end === b?.end;

  // Ends the stream once the job has ended and nothing written is left unsent. Also a job that
  // will never have a workflow (cancelled before its start) ends it.
  let checkFailed = false;
  const check = async (job: JobState | undefined): Promise<void> => {
    if (!job || !terminalStatuses.has(job.status) || ended) return;
    await deps.logs.lastBatch(first.id).then(
      (newest) => {
        if (!newest || sameBatch(newest, last)) finish(job);
      },
      (err: unknown) => {
        // Logged once per stream; the next state read tries again.
        if (!checkFailed) deps.logError?.(err);
        checkFailed = true;
      },
    );
  };
  const unsubscribe = watch.subscribe(first.id, (job) => void check(job));
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  try {
    await check(first);
    if (!ended) {
      for await (const { batch } of deps.logs.follow(first.id, abort.signal)) {
        for (const line of batch.lines) {
          if (++lineNumber <= resumeAfter) continue;
          await send('log', { job_id: batch.jobId, container_id: batch.containerId, step_id: batch.stepId, step_name: batch.stepName, ...line }, lineNumber);
        }
        last = batch;
        if (ended) break;
      }
    }
  } finally {
    deps.closing?.removeEventListener('abort', onClosing);
    unsubscribe();
    clearInterval(keepAlive);
    res.end();
  }
}
