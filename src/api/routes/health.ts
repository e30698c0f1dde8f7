import { Router } from 'express';
import type { ApiDeps } from '../deps';
import { openApiDocument } from '../openapi';

/** Health, metrics and the API's description: open to all, like Hades's /ping. */
export function healthRoutes(deps: ApiDeps): Router {
  const router = Router();
  const document = openApiDocument();
  // As in Hades.
  router.get('/ping', (_req, res) => void res.json({ message: 'pong' }));
  // The process is up and serving (and /health, as the current Hades's log manager answers it).
  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  router.get('/health', (_req, res) => void res.json({ status: 'ok' }));
  // Temporal and NATS answer: this replica can take jobs.
  router.get('/readyz', async (_req, res) => {
    if (deps.closing?.aborted) return void res.status(503).json({ status: 'shutting down', checks: {} });
    const checks = deps.readiness ? await deps.readiness() : {};
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  router.get('/metrics', async (_req, res) => {
    if (!deps.metrics) return void res.status(404).json({ error: { code: 'not_found', message: 'metrics are off' } });
    res.set('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  router.get('/openapi.json', (_req, res) => void res.json(document));
  return router;
}
