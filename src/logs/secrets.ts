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

/**
 * Replaces every secret in `text`. A line cut at its length limit (`cut`) may end in the first
 * part of a secret: that part is masked too.
 */
export function maskSecrets(text: string, secrets: readonly string[], cut = false): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(mask);
  if (cut) {
    for (const s of secrets) {
      for (let k = Math.min(s.length - 1, out.length); k > 0; k--) {
        if (out.endsWith(s.slice(0, k))) {
          out = out.slice(0, out.length - k) + mask;
          break;
        }
      }
    }
  }
  return out;
}

/** A metadata map with secret-looking values masked, for API answers. */
export function maskedMetadata(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, secretKey.test(k) ? mask : v]));
}
