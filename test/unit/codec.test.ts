import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { ConfigError, parseConfig } from '../../src/config';
import { encryptedEncoding, encryptionCodec } from '../../src/temporal/codec';
import { parseEncryptionKeys } from '../../src/temporal/encryptionKeys';
import type { EncryptionKey } from '../../src/temporal/encryptionKeys';

const key = (id: string): EncryptionKey => ({ id, key: randomBytes(32) });
const utf8 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

describe('the encryption codec', () => {
  const secret = { metadata: { SECRET: `token-${randomBytes(8).toString('hex')}` } };
  const plain = defaultPayloadConverter.toPayload(secret);

  it('stores nothing of a payload in clear and gives it back whole', async () => {
    const codec = encryptionCodec([key('k1')]);
    const [sealed] = await codec.encode([plain]);
    assert.ok(sealed);
    assert.equal(utf8(sealed.metadata?.encoding), encryptedEncoding);
    assert.equal(utf8(sealed.metadata?.['encryption-key-id']), 'k1');
    const bytes = Buffer.from(sealed.data ?? new Uint8Array());
    assert.equal(bytes.includes(secret.metadata.SECRET), false);
    assert.equal(bytes.includes('json/plain'), false, 'the inner encoding is encrypted too');
    const [opened] = await codec.decode([sealed]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), secret);
  });

  it('encrypts the same payload differently each time (a fresh nonce)', async () => {
    const codec = encryptionCodec([key('k1')]);
    const [a, b] = await codec.encode([plain, plain]);
    assert.notDeepEqual(Buffer.from(a!.data!), Buffer.from(b!.data!));
  });

  it('rotates keys by id: the first encrypts, every listed one decrypts', async () => {
    const old = key('2026-01');
    const fresh = key('2026-12');
    const [byOld] = await encryptionCodec([old]).encode([plain]);
    const rotated = encryptionCodec([fresh, old]);
    const [byNew] = await rotated.encode([plain]);
    assert.equal(utf8(byNew!.metadata?.['encryption-key-id']), '2026-12');
    const decoded = await rotated.decode([byOld!, byNew!]);
    for (const p of decoded) assert.deepEqual(defaultPayloadConverter.fromPayload(p), secret);
  });

  it('passes through payloads that were never encrypted (history from before the keys)', async () => {
    const [same] = await encryptionCodec([key('k1')]).decode([plain]);
    assert.deepEqual(same, plain);
  });

  it('refuses, by name, a payload of a key it does not have, an altered one, and one relabelled to another key', async () => {
    const a = key('a');
    const b = key('b');
    const [sealed] = await encryptionCodec([a]).encode([plain]);
    await assert.rejects(encryptionCodec([b]).decode([sealed!]), { name: 'PayloadDecryptionError', message: /key id "a", which HADES_ENCRYPTION_KEYS does not list/ });

    const altered = Buffer.from(sealed!.data!);
    altered[20] = altered[20]! ^ 1;
    await assert.rejects(encryptionCodec([a]).decode([{ ...sealed!, data: altered }]), { name: 'PayloadDecryptionError', message: /does not decrypt/ });

    // Same key bytes under another id: the id is authenticated, so the label cannot be swapped.
    const relabelled: Payload = { ...sealed!, metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('b') } };
    await assert.rejects(encryptionCodec([{ id: 'b', key: a.key }]).decode([relabelled]), { name: 'PayloadDecryptionError' });
  });
});

describe('HADES_ENCRYPTION_KEYS', () => {
  const b64 = () => randomBytes(32).toString('base64');

  it('reads id:base64key pairs in order', () => {
    const k1 = b64();
    const k2 = b64();
    const parsed = parseEncryptionKeys(`new:${k1}, old:${k2}`);
    assert.ok('keys' in parsed);
    assert.deepEqual(parsed.keys.map((k) => [k.id, k.key.toString('base64')]), [['new', k1], ['old', k2]]);
  });

  it('refuses a wrong entry with a reason, never repeating the key', () => {
    const short = randomBytes(16).toString('base64');
    for (const [text, reason] of [
      [`${b64()}`, /entry 1 is not id:base64key/],
      [`k1:${short}`, /key k1 is not 32 bytes in base64/],
      [`k1:not base64!`, /key k1 is not 32 bytes/],
      [`k1:${b64()},k1:${b64()}`, /key id k1 is listed twice/],
      [' , ', /no key/],
    ] as const) {
      const parsed = parseEncryptionKeys(text);
      assert.ok('error' in parsed, text);
      assert.match(parsed.error, reason);
    }
    assert.throws(
      () => parseConfig({ HADES_ENCRYPTION_KEYS: `k1:${short}`, AUTH_KEY: '' }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('HADES_ENCRYPTION_KEYS=(hidden): key k1') && !err.message.includes(short),
    );
  });

  it('hides secret settings in configuration errors', () => {
    assert.throws(
      () => parseConfig({ NATS_TOKEN: 'tok-123', NATS_USER: 'u', NATS_PASSWORD: 'pw-456' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('tok-123') && !err.message.includes('pw-456'),
    );
  });
});
