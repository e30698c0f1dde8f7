import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { parseJobPayload, priorityLevel } from '../../job';
import { JobTooLargeError } from '../../queue/jobQueue';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';

export function buildRoutes(deps: ApiDeps): Router {
  const router = Router();
  const newId = deps.newId ?? randomUUID;
  const now = deps.now ?? (() => new Date());

  router.post('/build', async (req, res) => {
    if (!req.is('application/json') && req.body === undefined) {
      throw new ApiError(415, 'unsupported_media_type', 'send the job as JSON with Content-Type: application/json');
    }
    const reference = deps.queue.format === 'reference';
    const parsed = parseJobPayload(req.body, { ...(deps.allowedNetworks && { allowedNetworks: deps.allowedNetworks }), currentHadesFormat: reference });
    if (!parsed.ok) {
      const { fields } = parsed;
      throw new ApiError(400, 'invalid_payload', `the job is invalid: ${fields.length} problem${fields.length === 1 ? '' : 's'}`, fields);
    }
    // A client-chosen id makes a retried POST idempotent; otherwise we make one.
    // (Written for the current Hades, an id is a UUID in its canonical lower case, as it reads it.)
    const chosen = parsed.payload.id ?? newId();
    const id = reference ? chosen.toLowerCase() : chosen;
    try {
      await deps.queue.submit(id, parsed.payload, now());
    } catch (err) {
      // Too large for the queue is final: 413, never "try again".
      if (err instanceof JobTooLargeError) throw new ApiError(413, 'payload_too_large', err.message);
      throw err;
    }
    deps.metrics?.jobsSubmitted.inc({ priority: priorityLevel(parsed.payload.priority) });
    res.status(200).json({ message: 'Successfully enqueued job', job_id: id });
  });

  return router;
}
