// Metadata whose key looks secret has its value masked wherever Hades shows output.

const secretKey = /token|passw(or)?d|pwd|secret|key|credential|auth|private/i;
export const mask = '***';

/** Values of metadata entries whose key looks secret (long enough to mask safely). */
export function secretValues(...maps: Record<string, string>[]): string[] {
  const values = new Set<string>();
  for (const map of maps) for (const [k, v] of Object.entries(map)) if (secretKey.test(k) && v.length >= 3) values.add(v);
  // Longest first, so a secret containing another is masked whole.
  return [...values].sort((a, b) => b.length - a.length);
}

export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(mask);
  return out;
}

/** A metadata map with secret-looking values masked, for API answers. */
export function maskedMetadata(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, secretKey.test(k) ? mask : v]));
}
