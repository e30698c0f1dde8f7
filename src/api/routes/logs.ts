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

/**
 * Server-Sent Events: every line so far, then each new one as it is written; ends with an `end`
 * event once the job has ended and its last line was sent.
 */
async function streamLogs(deps: ApiDeps, first: JobState, req: Request, res: Response): Promise<void> {
  res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const abort = new AbortController();
  req.on('close', () => abort.abort());
  let last: LogBatch | undefined;
  let ended = false;

  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const finish = (job: JobState) => {
    if (ended) return;
    ended = true;
    send('end', { job_id: job.id, status: job.status, reason: job.reason });
    abort.abort();
  };
  const sameBatch = (a: LogBatch | undefined, b: LogBatch | undefined) => a?.stepIndex === b?.stepIndex && a?.offset === b?.offset && a?.end === b?.end;

  // Ends the stream once the job has ended and nothing written is left unsent.
  const check = async () => {
    // Also a job that will never have a workflow (cancelled before its start) ends the stream.
    const job = await readJob(deps, first.id);
    if (!job || !terminalStatuses.has(job.status)) return;
    const newest = await deps.logs.lastBatch(first.id);
    if (!newest || sameBatch(newest, last)) finish(job);
  };
  const poll = setInterval(() => void check().catch(() => undefined), deps.followPollMs ?? 1000);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  try {
    await check();
    if (!ended) {
      for await (const { batch } of deps.logs.follow(first.id, abort.signal)) {
        for (const line of batch.lines) send('log', { job_id: batch.jobId, container_id: batch.containerId, step_id: batch.stepId, step_name: batch.stepName, ...line });
        last = batch;
        if (ended) break;
      }
    }
  } finally {
    clearInterval(poll);
    clearInterval(keepAlive);
    res.end();
  }
}
