import { Router } from 'express';
import { z } from 'zod';
import { jobIdPattern, jobStatuses, toHadesStatus } from '../../job';
import type { JobState } from '../../job';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { queuedView } from '../queuedView';
import { validate } from '../validate';

export const jobIdSchema = z.string().regex(jobIdPattern, 'not a job id (letters, digits, _ . -, at most 128; no dot at the end or twice in a row)');
/** The `{id}` of a route, so a bad one is reported as field `id`. */
const idParam = z.object({ id: jobIdSchema });

export const listQuerySchema = z.object({
  status: z.enum(jobStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(4096).optional(),
});

/** The job of `id` from Temporal, or from its submission record before a bridge started it. */
export async function readJob(deps: Pick<ApiDeps, 'jobs' | 'queue' | 'started'>, id: string): Promise<JobState | undefined> {
  const job = await deps.jobs.read(id);
  if (job) return job;
  const submission = await deps.queue.submission(id);
  if (!submission) return undefined;
  // Started once, and Temporal has no workflow now: it ended, and retention removed it. (One
  // cancelled before its start never had a workflow: its record tells all there is.) Temporal is
  // asked again first: the bridge may have started it between the first question and this one.
  if (!submission.cancelRequested && (await deps.started?.has(id))) {
    const started = await deps.jobs.read(id);
    if (started) return started;
    throw new ApiError(410, 'job_expired', `job ${id} has ended and Temporal no longer keeps it (past the namespace's retention)`);
  }
  return queuedView(submission);
}

/** readJob for a route's id parameter; 404 when there is no such job. */
export async function findJob(deps: ApiDeps, rawId: unknown): Promise<JobState> {
  const { id } = validate(idParam, { id: rawId }, 'invalid_job_id');
  const job = await readJob(deps, id);
  if (job) return job;
  throw new ApiError(404, 'job_not_found', `no job with id ${id}`);
}

export function jobRoutes(deps: ApiDeps): Router {
  const router = Router();

  router.get('/jobs', async (req, res) => {
    const query = validate(listQuerySchema, req.query, 'invalid_query');
    res.json(await deps.jobs.list(query));
  });

  router.get('/jobs/:id', async (req, res) => {
    res.json(await findJob(deps, req.params.id));
  });

  // As the current Hades's log manager answers it: its five statuses, and its own 404 body.
  router.get('/jobs/:id/status', async (req, res) => {
    const { id } = validate(idParam, { id: req.params.id }, 'invalid_job_id');
    const job = await readJob(deps, id);
    if (!job) return void res.status(404).json({ error: `job not found: ${id}` });
    res.json({ status: toHadesStatus(job.status) });
  });

  router.post('/jobs/:id/cancel', async (req, res) => {
    const { id } = validate(idParam, { id: req.params.id }, 'invalid_job_id');
    const result = await deps.jobs.cancel(id);
    if (result.outcome === 'not_found') throw new ApiError(404, 'job_not_found', `no job with id ${id}`);
    if (result.outcome === 'finished') throw new ApiError(409, 'job_finished', `job ${id} has already ended (${result.status}); there is nothing to cancel`);
    res.status(202).json({ message: 'Cancellation requested', job_id: id });
  });

  return router;
}
