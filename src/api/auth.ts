import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from './errors';

export const authUser = 'hades';

const digest = (b: Buffer) => createHash('sha256').update(b).digest();

/**
 * HTTP Basic `hades:AUTH_KEY`, as the original Hades; without a key every request passes. The
 * credentials are compared as SHA-256 digests in constant time, so neither the key nor its length
 * leaks through timing; every refusal is reported to `onFailure` (a metric).
 */
export function basicAuth(authKey: string | undefined, onFailure: () => void = () => undefined): RequestHandler {
  if (!authKey) return (_req, _res, next) => next();
  const expected = digest(Buffer.from(`${authUser}:${authKey}`));
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+(\S+)$/i.exec(header);
    const given = digest(match?.[1] ? Buffer.from(match[1], 'base64') : Buffer.alloc(0));
    if (timingSafeEqual(given, expected)) return next();
    onFailure();
    res.setHeader('WWW-Authenticate', 'Basic realm="hades"');
    next(new ApiError(401, 'unauthorized', 'missing or wrong credentials: use HTTP Basic auth as user "hades" with AUTH_KEY'));
  };
}
