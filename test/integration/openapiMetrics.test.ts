import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/deps';
import { documentedRoutes } from '../../src/api/openapi';
import { helloWorldJob } from '../fixtures/examples';
import { request, waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { startTestStack, useTestStack } from '../helpers/stack';
import { freePorts } from '../../scripts/services';
import { parseConfig } from '../../src/config';
import { runHades } from '../../src/main/run';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD /path` of every route an express app serves, with `{param}` as OpenAPI writes it. */
function servedRoutes(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`);
    }
    return layer.handle?.stack ? servedRoutes(layer.handle.stack) : [];
  });
}

describe('GET /openapi.json', () => {
  const fixture = useTestStack();

  it('is a valid OpenAPI 3.1 document that describes every route the API serves', async () => {
    const res = await request<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(`${fixture.stack.apiUrl}/openapi.json`);
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    // An ES module: loaded with import() from this CommonJS test.
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(res.body as unknown as Parameters<InstanceType<typeof Validator>['validate']>[0]);
    assert.equal(result.valid, true, JSON.stringify(result.errors));

    const inDocument = Object.entries(res.body.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    assert.deepEqual([...inDocument].sort(), [...documentedRoutes].sort());
    // Route registration only: none of the dependencies is called.
    const app = createApp({} as ApiDeps) as unknown as { router: { stack: Layer[] } };
    assert.deepEqual([...new Set(servedRoutes(app.router.stack))].sort(), [...documentedRoutes].sort());
  });

  it('documents the job payload from the schema that validates it', async () => {
    const res = await request<{ components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> } }>(`${fixture.stack.apiUrl}/openapi.json`);
    const payload = res.body.components.schemas.JobPayload;
    assert.deepEqual(payload?.required?.sort(), ['name', 'steps']);
    for (const field of ['metadata', 'timestamp', 'priority', 'callback_url', 'timeout_seconds']) assert.ok(payload?.properties?.[field], field);
  });
});

describe('GET /metrics', () => {
  const fixture = useTestStack();

  it('counts submitted and finished jobs and times steps and jobs, in Prometheus format', async () => {
    const id = await submitJob(fixture.stack.apiUrl, helloWorldJob(), fixture.jobIds);
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id)).status, 'Succeeded');
    const res = await fetch(`${fixture.stack.apiUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    for (const line of [
      /^hades_jobs_submitted_total\{priority="low"\} 1$/m,
      /^hades_jobs_started_total 1$/m,
      /^hades_jobs_finished_total\{status="Succeeded"\} 1$/m,
      /^hades_step_duration_seconds_count\{status="Succeeded"\} 1$/m,
      /^hades_job_duration_seconds_count\{status="Succeeded"\} 1$/m,
      /^hades_running_steps 0$/m,
      /^hades_queue_depth 0$/m,
    ]) {
      assert.match(text, line);
    }
  });
});

describe('metrics of a process without the api role', () => {
  it('a worker serves its own step and job metrics on METRICS_PORT', async () => {
    const api = await startTestStack({ HADES_ROLES: 'api,bridge' });
    const port = (await freePorts(1))[0] ?? 0;
    const worker = await runHades(parseConfig({ ...api.env, HADES_ROLES: 'worker', METRICS_PORT: String(port) }));
    try {
      const id = await submitJob(api.apiUrl, helloWorldJob());
      assert.equal((await waitForEnd(api.apiUrl, id)).status, 'Succeeded');
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /^hades_jobs_finished_total\{status="Succeeded"\} 1$/m);
      assert.match(text, /^hades_step_duration_seconds_count\{status="Succeeded"\} 1$/m);
    } finally {
      await worker.stop();
      await api.stop();
    }
  });
});
