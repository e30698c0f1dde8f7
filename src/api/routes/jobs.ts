import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { queuedView } from '../queuedView';

export const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function jobRoutes(deps: ApiDeps): Router {
  const router = Router();

  router.get('/jobs/:id', async (req, res) => {
    const id = req.params.id ?? '';
    if (!jobIdPattern.test(id)) throw new ApiError(400, 'invalid_job_id', `"${id}" is not a job id`);
    const job = await deps.readJob(id);
    if (job) return void res.json(job);
    // Accepted but not yet started by the bridge: still a known, queued job.
    const submission = await deps.queue.submission(id);
    if (submission) return void res.json(queuedView(submission));
    throw new ApiError(404, 'job_not_found', `no job with id ${id}`);
  });

  return router;
}
