import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { jobPayloadSchema } from '../job';
import { jobIdSchema, listQuerySchema } from './routes/jobs';
import { hadesStatuses } from '../job';
import {
  cancelRequestedSchema,
  codecBodySchema,
  enqueuedSchema,
  errorBodySchema,
  jobLogsSchema,
  jobPageSchema,
  jobStateSchema,
  logStreamEventSchema,
} from './schemas';

/** Every route the API serves, as `METHOD /path` with OpenAPI's `{param}`: the test holds the app to it. */
export const documentedRoutes = [
  'GET /ping',
  'GET /healthz',
  'GET /health',
  'GET /readyz',
  'GET /openapi.json',
  'GET /metrics',
  'POST /build',
  'GET /jobs',
  'GET /jobs/{id}',
  'GET /jobs/{id}/status',
  'POST /jobs/{id}/cancel',
  'GET /jobs/{id}/logs',
  'GET /jobs/{id}/logs/stream',
  'POST /codec/encode',
  'POST /codec/decode',
] as const;

/** The OpenAPI 3.1 document, generated from the zod schemas that validate requests and type answers. */
export function openApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const basicAuth = registry.registerComponent('securitySchemes', 'basicAuth', {
    type: 'http',
    scheme: 'basic',
    description: 'User `hades`, password AUTH_KEY; required only when the server has AUTH_KEY set.',
  });
  const security = [{ [basicAuth.name]: [] }];
  // Named components from zod's own JSON Schema output (OpenAPI 3.1 speaks JSON Schema 2020-12).
  // registry.register would need zod extended before any schema exists, which zod 4 makes brittle.
  const component = (name: string, schema: z.ZodType, io: 'input' | 'output') => {
    const { $schema: _drop, ...jsonSchema } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
    registry.registerComponent('schemas', name, jsonSchema as never);
    return { $ref: `#/components/schemas/${name}` };
  };
  const Error = component('Error', errorBodySchema, 'output');
  const JobPayload = component('JobPayload', jobPayloadSchema, 'input');
  const Job = component('Job', jobStateSchema, 'output');
  const json = (schema: z.ZodType | { $ref: string }) => ({ 'application/json': { schema } });
  const error = (description: string) => ({ description, content: json(Error) });
  const idParams = z.object({ id: jobIdSchema });

  const plain = (path: string, summary: string, schema: z.ZodType, extra: Record<number, { description: string; content: ReturnType<typeof json> }> = {}) =>
    registry.registerPath({ method: 'get', path, summary, responses: { 200: { description: 'OK', content: json(schema) }, ...extra } });
  plain('/ping', 'Liveness, as in Hades', z.object({ message: z.literal('pong') }));
  plain('/healthz', 'The process is up', z.object({ status: z.literal('ok') }));
  plain('/health', "The process is up (the current Hades's log manager route)", z.object({ status: z.literal('ok') }));
  plain('/readyz', 'Temporal and NATS answer', z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()) }), {
    503: { description: 'Not ready', content: json(z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()) })) },
  });
  registry.registerPath({ method: 'get', path: '/openapi.json', summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: json(z.object({}).passthrough()) } } });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
  });

  const notAnId = error('Not a job id (letters, digits, `_ . -`, at most 128; no dot at the end or twice in a row)');
  const unavailable = error('Temporal or NATS did not answer: try again');
  registry.registerPath({
    method: 'post',
    path: '/build',
    summary: 'Submit a job (the original Hades payload)',
    security,
    request: { body: { required: true, content: json(JobPayload) } },
    responses: {
      200: { description: 'Durably queued', content: json(enqueuedSchema) },
      400: error('Invalid payload: every bad field is listed'),
      401: error('Missing or wrong credentials'),
      413: error('Body over the size limit'),
      415: error('Body is not JSON (Content-Type)'),
      503: error('The job queue (NATS) did not answer'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/jobs',
    summary: 'Jobs, newest first',
    security,
    request: { query: listQuerySchema },
    responses: { 200: { description: 'One page', content: json(jobPageSchema) }, 400: error('Bad query (or a cursor no page of this list gave)'), 401: error('Missing or wrong credentials'), 503: unavailable },
  });
  registry.registerPath({
    method: 'get',
    path: '/jobs/{id}',
    summary: 'A job and its steps',
    security,
    request: { params: idParams },
    responses: {
      200: { description: 'The job', content: json(Job) },
      400: notAnId,
      401: error('Missing or wrong credentials'),
      404: error('No such job'),
      503: unavailable,
      410: error('The job ended and Temporal no longer keeps it (past the retention of its namespace)'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/jobs/{id}/status',
    summary: "A job's status in the current Hades's five words (its log manager's route): Cancelled reads Stopped, TimedOut Failed",
    security,
    request: { params: idParams },
    responses: {
      200: { description: 'The status', content: json(z.object({ status: z.enum(hadesStatuses) })) },
      400: notAnId,
      401: error('Missing or wrong credentials'),
      404: { description: "No such job (the current Hades's body: a bare string)", content: json(z.object({ error: z.string() })) },
      410: error('The job ended and Temporal no longer keeps it (past the retention of its namespace)'),
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/jobs/{id}/cancel',
    summary: 'Cancel a job',
    security,
    request: { params: idParams },
    responses: {
      202: { description: 'Cancellation requested', content: json(cancelRequestedSchema) },
      400: notAnId,
      401: error('Missing or wrong credentials'),
      404: error('No such job'),
      409: error('The job has already ended'),
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/jobs/{id}/logs',
    summary: "A job's logs, per step, in Hades's shape",
    security,
    request: { params: idParams },
    responses: { 200: { description: 'The logs so far', content: json(jobLogsSchema) }, 400: notAnId, 401: error('Missing or wrong credentials'), 404: error('No such job'), 503: unavailable },
  });
  registry.registerPath({
    method: 'get',
    path: '/jobs/{id}/logs/stream',
    summary:
      'Live logs (Server-Sent Events): `log` events (id = the line number; send `Last-Event-ID` to resume after it), then one `end` event with the final status, or a `shutdown` event when this API stops',
    security,
    request: { params: idParams, headers: z.object({ 'last-event-id': z.string().regex(/^\d+$/).optional().describe('Resume after this line number') }) },
    responses: {
      200: { description: 'An event stream; each `log` event carries one line', content: { 'text/event-stream': { schema: logStreamEventSchema } } },
      400: notAnId,
      401: error('Missing or wrong credentials'),
      404: error('No such job'),
      503: unavailable,
    },
  });

  for (const direction of ['encode', 'decode'] as const) {
    registry.registerPath({
      method: 'post',
      path: `/codec/${direction}`,
      summary:
        direction === 'decode'
          ? "Decrypt payloads as Temporal stores them (Temporal's remote codec: point the Web UI's codec endpoint at /codec)"
          : 'Encrypt payloads with the current key (HADES_ENCRYPTION_KEYS)',
      security,
      request: { body: { required: true, content: json(codecBodySchema) } },
      responses: {
        200: { description: 'The payloads, in the same order', content: json(codecBodySchema) },
        400: error('Not a list of payloads'),
        401: error('Missing or wrong credentials'),
        404: error('No HADES_ENCRYPTION_KEYS: payloads are stored in clear'),
        ...(direction === 'decode' && { 422: error('A payload is encrypted with a key not configured, or altered') }),
      },
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Hades on Temporal', version: '0.1.0', description: 'Container jobs as durable Temporal workflows; a drop-in for Hades clients.' },
  });
}
