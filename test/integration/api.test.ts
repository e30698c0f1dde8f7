import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'nats';
import type { ErrorBody } from '../../src/api/errors';
import type { JobState } from '../../src/job';
import { helloWorldJob } from '../fixtures/examples';
import { request } from '../helpers/http';
import type { TestStack } from '../helpers/stack';
import { startTestStack } from '../helpers/stack';

// The API alone (no bridge, no worker): what it accepts, rejects and answers before a job runs.
describe('the HTTP API', () => {
  let stack: TestStack;
  const auth = { authorization: `Basic ${Buffer.from('hades:s3cret').toString('base64')}` };
  before(async () => {
    stack = await startTestStack({ HADES_ROLES: 'api', AUTH_KEY: 's3cret' });
  });
  after(async () => {
    await stack?.stop();
  });

  it('keeps health, metrics and the OpenAPI document open without credentials', async () => {
    for (const path of ['/ping', '/healthz', '/readyz', '/metrics', '/openapi.json']) {
      const res = await request(`${stack.apiUrl}${path}`);
      assert.equal(res.status, 200, path);
    }
  });

  it('answers every odd input with a 4xx in the one error shape, never a 500', async () => {
    const bodies: unknown[] = [null, [], 0, 'x', true, { name: null, steps: null }, { name: 'x', steps: [null] }, { name: 'x', steps: [[]] },
      { name: 'x'.repeat(10_000), steps: [{ image: 'a'.repeat(1000) }] }, { name: 'x', priority: 1e308, steps: [{ image: 'b', cpu_limit: -1e308 }] },
      { name: '\u0000', metadata: { '': 'x', ['k'.repeat(300)]: 'v' }, steps: [{ image: 'ok:1', metadata: [] }] },
      { name: 'x', steps: [{ image: 'ok:1', id: { nested: true }, network: '../../etc' }] }, { name: 'x', steps: [{ image: 'ok:1' }], id: 'not-a-uuid' }];
    for (const json of bodies) {
      const res = await request<ErrorBody>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json });
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(json).slice(0, 80)} → ${res.status}`);
      assert.equal(typeof res.body.error.code, 'string');
    }
    const raw = [
      ['POST', '/build', 'text/plain', 'hello'],
      ['POST', '/build', 'application/json', '{"a":'],
      ['POST', '/build', 'application/json', '\u0000\u0001'],
      ['GET', '/jobs/%2e%2e%2fetc', undefined, undefined],
      ['GET', '/jobs?limit=abc&status=Nope&cursor=%ff', undefined, undefined],
      ['POST', '/jobs/a%20b/cancel', undefined, undefined],
      ['GET', '/jobs/x/logs/stream/extra', undefined, undefined],
      ['DELETE', '/build', undefined, undefined],
    ] as const;
    for (const [method, path, type, body] of raw) {
      const res = await fetch(`${stack.apiUrl}${path}`, { method, headers: { ...auth, ...(type && { 'content-type': type }) }, ...(body !== undefined && { body }) });
      assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} → ${res.status}`);
      assert.equal(typeof ((await res.json()) as ErrorBody).error.code, 'string', `${method} ${path}`);
    }
  });

  it('asks for Basic hades:AUTH_KEY on /build and /jobs, with the JSON error shape', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: `Basic ${Buffer.from('hades:wrong').toString('base64')}` }]) {
      const res = await request<ErrorBody>(`${stack.apiUrl}/build`, { method: 'POST', json: helloWorldJob(), headers });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="hades"');
    }
    const res = await request<ErrorBody>(`${stack.apiUrl}/jobs/some-id`);
    assert.equal(res.status, 401);
  });

  it('names every bad field in one 400 answer', async () => {
    const res = await request<ErrorBody>(`${stack.apiUrl}/build`, {
      method: 'POST',
      headers: auth,
      json: { priority: 'high', steps: [{ id: 1, name: 'no image' }, { id: 1, image: 'x', memory_limit: 'lots' }] },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_payload');
    const paths = (res.body.error.fields ?? []).map((f) => f.path).sort();
    assert.deepEqual(paths, ['name', 'priority', 'steps[0].image', 'steps[1].id', 'steps[1].memory_limit'].sort());
  });

  it('rejects a body that is not JSON, and a job without steps', async () => {
    const bad = await fetch(`${stack.apiUrl}/build`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"name":' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as ErrorBody).error.code, 'invalid_json');
    const empty = await request<ErrorBody>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json: { name: 'x', steps: [] } });
    assert.equal(empty.status, 400);
    assert.deepEqual(empty.body.error.fields?.map((f) => f.path), ['steps']);
  });

  it('bounds the number of steps and the size of a script', async () => {
    const step = { image: 'busybox:1', script: 'true' };
    const many = await request<ErrorBody>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json: { name: 'x', steps: Array.from({ length: 101 }, () => step) } });
    assert.equal(many.status, 400);
    assert.deepEqual(many.body.error.fields?.map((f) => f.path), ['steps']);
    const long = await request<ErrorBody>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json: { name: 'x', steps: [{ ...step, script: 'x'.repeat(300 * 1024) }] } });
    assert.equal(long.status, 400);
    assert.deepEqual(long.body.error.fields?.map((f) => f.path), ['steps[0].script']);
  });

  it('leaves nothing behind for a rejected job: no queued message, no submission record', async () => {
    const nc = await connect({ servers: stack.config.NATS_URL });
    try {
      const jsm = await nc.jetstreamManager();
      const before = (await jsm.streams.info(stack.config.NATS_JOB_STREAM)).state.messages;
      const kvBefore = (await jsm.streams.info(`KV_${stack.config.NATS_SUBMISSIONS_BUCKET}`)).state.messages;
      for (const json of [{ name: 'x', steps: [{ image: '' }] }, { name: 'x', steps: [] }, 'just a string']) {
        const res = await request(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json });
        assert.equal(res.status, 400);
      }
      assert.equal((await jsm.streams.info(stack.config.NATS_JOB_STREAM)).state.messages, before);
      assert.equal((await jsm.streams.info(`KV_${stack.config.NATS_SUBMISSIONS_BUCKET}`)).state.messages, kvBefore);
    } finally {
      await nc.close();
    }
  });

  it('answers 503 queue_unavailable when JetStream does not take the job, and keeps no record of it', async () => {
    const nc = await connect({ servers: stack.config.NATS_URL });
    const jsm = await nc.jetstreamManager();
    const stream = stack.config.NATS_JOB_STREAM;
    const subjects = (await jsm.streams.info(stream)).config.subjects;
    try {
      // The stream takes high-priority jobs only: a low one's publish finds no stream (no responders).
      await jsm.streams.update(stream, { subjects: [`${stack.config.NATS_JOB_SUBJECT_PREFIX}.high`] });
      const id = '3b9e6a1c-5d2f-4e8a-9c7b-1a2b3c4d5e6f';
      const res = await request<ErrorBody>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json: { ...helloWorldJob(), id, priority: 1 } });
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'queue_unavailable');
      assert.match(res.body.error.message, /did not answer \(503\)/);
      const after = await request<ErrorBody>(`${stack.apiUrl}/jobs/${id}`, { headers: auth });
      assert.equal(after.status, 404, 'no record of a job that was not queued');
    } finally {
      await jsm.streams.update(stream, { subjects });
      await nc.close();
    }
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await request<ErrorBody>(`${stack.apiUrl}/build`, {
      method: 'POST',
      headers: auth,
      json: { ...helloWorldJob(), metadata: { BIG: 'x'.repeat(3 * 1024 * 1024) } },
    });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
  });

  it('answers 413 naming the limit for a body under the body limit but over what NATS carries, and keeps no record of it', async () => {
    // NATS's max payload is 1 MiB by default; this body is about 1.5 MiB (under the 2 MiB body limit).
    const id = '6f0c8f52-8f0e-4c55-9d6a-6d1a4c8f1e01';
    const res = await request<ErrorBody>(`${stack.apiUrl}/build`, {
      method: 'POST',
      headers: auth,
      // Six steps with a 256 KiB script each (the most one script may have).
      json: { name: 'big', id, steps: Array.from({ length: 6 }, (_, i) => ({ id: i + 1, image: 'busybox', script: `true #${'x'.repeat(256 * 1024 - 10)}` })) },
    });
    assert.equal(res.status, 413, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.match(res.body.error.message, /1048576 bytes/);
    const after = await request<ErrorBody>(`${stack.apiUrl}/jobs/${id}`, { headers: auth });
    assert.equal(after.status, 404, 'no record of a job that was not queued');
  });

  it('refuses a step on the host network at submission, naming the setting that allows it', async () => {
    const res = await request<ErrorBody>(`${stack.apiUrl}/build`, {
      method: 'POST',
      headers: auth,
      json: { name: 'host net', steps: [{ image: 'busybox', script: 'true', network: 'host' }] },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.fields?.[0]?.path, 'steps[0].network');
    assert.match(res.body.error.fields?.[0]?.message ?? '', /STEP_NETWORKS/);
  });

  it('answers 404 JSON for an unknown job id', async () => {
    const res = await request<ErrorBody>(`${stack.apiUrl}/jobs/00000000-0000-4000-8000-000000000000`, { headers: auth });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'job_not_found');
  });

  it('knows an accepted job as Queued before any bridge has started it, ignoring unknown fields', async () => {
    const payload = { ...helloWorldJob(), volumes: [{ name: 'v' }], steps: [{ ...helloWorldJob().steps[0], workingDir: '/x', volumeMounts: [] }] };
    const res = await request<{ job_id: string }>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json: payload });
    assert.equal(res.status, 200);
    const job = await request<JobState>(`${stack.apiUrl}/jobs/${res.body.job_id}`, { headers: auth });
    assert.equal(job.status, 200);
    assert.equal(job.body.status, 'Queued');
    assert.equal(job.body.name, 'Example Job');
    assert.deepEqual(job.body.steps.map((s) => [s.id, s.status]), [['1', 'Pending']]);
  });

  it('keeps a client-chosen id, so a retried POST is the same job', async () => {
    const id = '6f1d0c8e-2f7a-4b8e-9a51-0d6c1f2a3b4c';
    const first = await request<{ job_id: string }>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json: { ...helloWorldJob(), id } });
    const second = await request<{ job_id: string }>(`${stack.apiUrl}/build`, { method: 'POST', headers: auth, json: { ...helloWorldJob(), id } });
    assert.equal(first.body.job_id, id);
    assert.equal(second.body.job_id, id);
  });
});
