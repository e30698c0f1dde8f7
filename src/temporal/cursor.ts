import { createHash } from 'node:crypto';

// GET /jobs's `cursor`: Temporal's next-page token, bound to the query it continues. Temporal
// answers a token it did not make with an error it calls retryable ("something went wrong,
// please retry"), so a cursor is checked here first: a made-up or altered one, or one from a
// list with another filter, is the client's mistake (400), never a 503 to retry forever.

/** A cursor this API did not hand out for this query. */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursor';
}

const checkLength = 16;

function check(token: Buffer, query: string): string {
  return createHash('sha256').update(query).update('\0').update(token).digest('base64url').slice(0, checkLength);
}

export function encodeCursor(token: Uint8Array, query: string): string {
  const t = Buffer.from(token);
  return `${t.toString('base64url')}.${check(t, query)}`;
}

export function decodeCursor(cursor: string, query: string): Buffer {
  const dot = cursor.lastIndexOf('.');
  const token = Buffer.from(cursor.slice(0, Math.max(0, dot)), 'base64url');
  if (dot <= 0 || token.length === 0 || cursor.slice(dot + 1) !== check(token, query)) {
    throw new InvalidCursorError('cursor is not one this list gave (pass back nextCursor exactly, with the same status filter)');
  }
  return token;
}
