import { Router } from 'express';
import type { ApiDeps } from '../deps';

export function healthRoutes(deps: ApiDeps): Router {
  const router = Router();
  // As in Hades.
  router.get('/ping', (_req, res) => void res.json({ message: 'pong' }));
  // The process is up and serving.
  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  // Temporal and NATS answer: this replica can take jobs.
  router.get('/readyz', async (_req, res) => {
    const checks = deps.readiness ? await deps.readiness() : {};
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  return router;
}
