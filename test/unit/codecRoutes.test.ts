import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/deps';
import { listen } from '../../src/api/httpServer';
import { encryptionCodec } from '../../src/temporal/codec';
import { request } from '../helpers/http';

// The /codec routes on their own (no Temporal, no NATS: they need only the codec), on loopback.

const uiOrigin = 'http://127.0.0.1:8233';
const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`hades:${key}`).toString('base64')}` });
const toJson = (p: { metadata?: Record<string, Uint8Array | null | undefined> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

describe('POST /codec/encode and /codec/decode', () => {
  const authKey = 'codec-test-key';
  let failures = 0;
  let server: Awaited<ReturnType<typeof listen>>;
  let url: string;
  before(async () => {
    const deps = {
      codec: encryptionCodec([{ id: 'k1', key: randomBytes(32) }]),
      codecCorsOrigins: [uiOrigin],
      authKey,
      metrics: { authFailures: { inc: () => failures++ } },
    } as unknown as ApiDeps;
    server = await listen(createApp(deps), 0, '127.0.0.1');
    url = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close(1000);
  });

  it('round-trips payloads for a caller with the credentials', async () => {
    const value = { metadata: { SECRET: 'x-1' } };
    const plain = toJson(defaultPayloadConverter.toPayload(value));
    const enc = await request<{ payloads: { metadata: Record<string, string>; data: string }[] }>(`${url}/codec/encode`, { method: 'POST', json: { payloads: [plain] }, headers: basic(authKey) });
    assert.equal(enc.status, 200);
    assert.equal(Buffer.from(enc.body.payloads[0]!.metadata.encoding!, 'base64').toString(), 'binary/encrypted');
    assert.equal(Buffer.from(enc.body.payloads[0]!.data, 'base64').includes('x-1'), false);
    const dec = await request<{ payloads: unknown[] }>(`${url}/codec/decode`, { method: 'POST', json: enc.body, headers: basic(authKey) });
    assert.equal(dec.status, 200);
    assert.deepEqual(dec.body.payloads, [plain]);
  });

  it('refuses a caller without credentials (and counts it), bad bodies with the field, and payloads it cannot decrypt', async () => {
    const before = failures;
    const open = await request<{ error: { code: string } }>(`${url}/codec/decode`, { method: 'POST', json: { payloads: [] } });
    assert.deepEqual([open.status, open.body.error.code], [401, 'unauthorized']);
    assert.equal(failures, before + 1);

    const bad = await request<{ error: { code: string; fields: { path: string }[] } }>(`${url}/codec/decode`, { method: 'POST', json: { payloads: [{ data: '%%%' }] }, headers: basic(authKey) });
    assert.deepEqual([bad.status, bad.body.error.code, bad.body.error.fields[0]?.path], [400, 'invalid_payloads', 'payloads[0].data']);

    const foreign = toJson((await encryptionCodec([{ id: 'other', key: randomBytes(32) }]).encode([defaultPayloadConverter.toPayload(1)]))[0]!);
    const refused = await request<{ error: { code: string; message: string } }>(`${url}/codec/decode`, { method: 'POST', json: { payloads: [foreign] }, headers: basic(authKey) });
    assert.deepEqual([refused.status, refused.body.error.code], [422, 'undecodable']);
    assert.match(refused.body.error.message, /key id "other"/);
  });

  it("answers the Web UI's preflight without credentials, and only for the listed origins", async () => {
    const preflight = (origin: string) =>
      fetch(`${url}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const ok = await preflight(uiOrigin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), uiOrigin);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /X-Namespace/i);

    const other = await preflight('http://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal(other.status, 401, 'not a preflight we answer: it meets the auth like any request');

    const call = await fetch(`${url}/codec/decode`, { method: 'POST', headers: { origin: uiOrigin, 'content-type': 'application/json', ...basic(authKey) }, body: '{"payloads":[]}' });
    assert.equal(call.status, 200);
    assert.equal(call.headers.get('access-control-allow-origin'), uiOrigin);
  });
});
