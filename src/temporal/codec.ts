import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { EncryptionKey } from './encryptionKeys';

// AES-256-GCM over each whole payload (its metadata and data, as the Payload protobuf), so the
// Temporal server stores only ciphertext: job input, memo, activity input and results, heartbeat
// details, failures' details. The key id travels in the payload's metadata (key rotation); the
// id is also the cipher's associated data, so a payload cannot be passed off as another key's.

export const encryptedEncoding = 'binary/encrypted';
export const keyIdMetadataKey = 'encryption-key-id';
const ivBytes = 12;
const tagBytes = 16;

export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** The codec; `keys[0]` encrypts, every key decrypts. Payloads not encrypted pass through (history from before). */
export function encryptionCodec(keys: readonly EncryptionKey[]): PayloadCodec {
  const [current] = keys;
  if (!current) throw new Error('encryptionCodec needs at least one key');
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  const encryptOne = (payload: Payload): Payload => {
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv);
    cipher.setAAD(utf8(current.id));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { [METADATA_ENCODING_KEY]: utf8(encryptedEncoding), [keyIdMetadataKey]: utf8(current.id) }, data: sealed };
  };

  const decryptOne = (payload: Payload): Payload => {
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== encryptedEncoding) return payload;
    const id = text(payload.metadata?.[keyIdMetadataKey]) ?? '';
    const key = byId.get(id);
    if (!key) throw new PayloadDecryptionError(`a payload is encrypted with key id "${id}", which HADES_ENCRYPTION_KEYS does not list`);
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < ivBytes + tagBytes) throw new PayloadDecryptionError(`a payload encrypted with key "${id}" is too short to be one`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, ivBytes));
    decipher.setAAD(utf8(id));
    decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(ivBytes, sealed.length - tagBytes)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`a payload encrypted with key "${id}" does not decrypt with it (altered, or another key of that id)`);
    }
    return temporal.api.common.v1.Payload.decode(plain);
  };

  return {
    // async: a payload that does not decrypt rejects the promise, it does not throw at the call.
    encode: async (payloads) => payloads.map(encryptOne),
    decode: async (payloads) => payloads.map(decryptOne),
  };
}
