// HADES_ENCRYPTION_KEYS: `id:base64key,id2:base64key2`. The first key encrypts; every listed key
// decrypts, so keys rotate by putting a new one first and dropping the old one once no kept
// history needs it. Pure: parsed by the config, used by the payload codec.

export interface EncryptionKey {
  /** Written beside each encrypted payload, so the key that decrypts it is found by id. */
  id: string;
  /** 32 bytes: AES-256. */
  key: Buffer;
}

export const keyBytes = 32;
const idPattern = /^[A-Za-z0-9_.-]{1,64}$/;

/** The keys in order, or the reason the setting is wrong (never quoting a key). */
export function parseEncryptionKeys(text: string): { keys: EncryptionKey[] } | { error: string } {
  const keys: EncryptionKey[] = [];
  const entries = text.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) return { error: 'no key: give id:base64key[,id:base64key...]' };
  for (const [n, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const encoded = colon < 0 ? '' : entry.slice(colon + 1);
    if (!idPattern.test(id)) return { error: `entry ${n + 1} is not id:base64key (the id is 1-64 of A-Z a-z 0-9 _ . -)` };
    if (keys.some((k) => k.id === id)) return { error: `key id ${id} is listed twice` };
    const key = Buffer.from(encoded, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== keyBytes) {
      return { error: `key ${id} is not ${keyBytes} bytes in base64 (make one with: openssl rand -base64 ${keyBytes})` };
    }
    keys.push({ id, key });
  }
  return { keys };
}
