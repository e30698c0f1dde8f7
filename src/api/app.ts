import express from 'express';
import type { Express } from 'express';
import { basicAuth } from './auth';
import type { ApiDeps } from './deps';
import { errorHandler, notFound } from './errors';
import { buildRoutes } from './routes/build';
import { codecCors, codecRoutes } from './routes/codec';
import { healthRoutes } from './routes/health';
import { jobRoutes } from './routes/jobs';
import { logRoutes } from './routes/logs';

export const defaultBodyLimitBytes = 2 * 1024 * 1024;

/** The HTTP API, apart from `listen` so tests can serve it on a free port. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // No ETag: hashing every answer cost ~1.5 % of the API's CPU under intake, and no client of the
  // current Hades (nor its Go server) used conditional requests.
  app.set('etag', false);
  app.use(healthRoutes(deps));

  app.use(express.json({ limit: deps.bodyLimitBytes ?? defaultBodyLimitBytes, type: ['application/json', 'application/*+json'] }));
  const auth = basicAuth(deps.authKey, () => deps.metrics?.authFailures.inc());
  app.use('/build', auth);
  app.use('/jobs', auth);
  app.use('/codec', codecCors(deps.codecCorsOrigins ?? []), auth);
  app.use(buildRoutes(deps));
  app.use(codecRoutes(deps));
  app.use(jobRoutes(deps));
  app.use(logRoutes(deps));

  app.use(notFound);
  app.use(errorHandler(deps.logError ?? ((err) => console.error(err))));
  return app;
}
