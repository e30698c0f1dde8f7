import type { Request, Response } from 'express';
import { Router } from 'express';
import { terminalStatuses } from '../../job';
import type { JobState } from '../../job';
import { toStepLogs } from '../../logs/logStore';
import type { LogBatch } from '../../logs/types';
import type { ApiDeps } from '../deps';
import { findJob, readJob } from './jobs';

export function logRoutes(deps: ApiDeps): Router {
  const router = Router();

  router.get('/jobs/:id/logs', async (req, res) => {
    const job = await findJob(deps, req.params.id);
    res.json({ logs: toStepLogs(await deps.logs.batches(job.id)) });
  });

  router.get('/jobs/:id/logs/stream', async (req, res) => {
    const job = await findJob(deps, req.params.id);
    await streamLogs(deps, job, req, res);
  });

  return router;
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
async function streamLogs(deps: ApiDeps, first: JobState, req: Request, res: Response): Promise<void> {
  res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const abort = new AbortController();
  req.on('close', () => abort.abort());
  const resumeAfter = resumePoint(req.get('Last-Event-ID'));
  let lineNumber = 0;
  let last: LogBatch | undefined;
  let ended = false;

  const send = (event: string, data: unknown, id?: number) => res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const finish = (job: JobState) => {
    if (ended) return;
    ended = true;
    send('end', { job_id: job.id, status: job.status, reason: job.reason });
    abort.abort();
  };
  const onClosing = () => {
    if (ended) return;
    ended = true;
    send('shutdown', { job_id: first.id, message: 'this API is shutting down: reconnect with Last-Event-ID to continue after the last line' });
    abort.abort();
  };
  if (deps.closing?.aborted) onClosing();
  else deps.closing?.addEventListener('abort', onClosing, { once: true });
  const sameBatch = (a: LogBatch | undefined, b: LogBatch | undefined) => a?.stepIndex === b?.stepIndex && a?.offset === b?.offset && a?.end === b?.end;

  // Ends the stream once the job has ended and nothing written is left unsent.
  const check = async () => {
    // Also a job that will never have a workflow (cancelled before its start) ends the stream.
    const job = await readJob(deps, first.id);
    if (!job || !terminalStatuses.has(job.status)) return;
    const newest = await deps.logs.lastBatch(first.id);
    if (!newest || sameBatch(newest, last)) finish(job);
  };
  // A failing check (Temporal away) is logged once per stream; the next poll tries again.
  let checkFailed = false;
  const poll = setInterval(
    () =>
      void check().catch((err: unknown) => {
        if (checkFailed) return;
        checkFailed = true;
        deps.logError?.(err);
      }),
    deps.followPollMs ?? 1000,
  );
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  try {
    await check();
    if (!ended) {
      for await (const { batch } of deps.logs.follow(first.id, abort.signal)) {
        for (const line of batch.lines) {
          if (++lineNumber <= resumeAfter) continue;
          send('log', { job_id: batch.jobId, container_id: batch.containerId, step_id: batch.stepId, step_name: batch.stepName, ...line }, lineNumber);
        }
        last = batch;
        if (ended) break;
      }
    }
  } finally {
    deps.closing?.removeEventListener('abort', onClosing);
    clearInterval(poll);
    clearInterval(keepAlive);
    res.end();
  }
}
