import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from './errors';

export const authUser = 'hades';

/** HTTP Basic `hades:AUTH_KEY`, as the original Hades; without a key every request passes. */
export function basicAuth(authKey: string | undefined): RequestHandler {
  if (!authKey) return (_req, _res, next) => next();
  const expected = Buffer.from(`${authUser}:${authKey}`);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+(\S+)$/i.exec(header);
    const given = match?.[1] ? Buffer.from(match[1], 'base64') : Buffer.alloc(0);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="hades"');
    next(new ApiError(401, 'unauthorized', 'missing or wrong credentials: use HTTP Basic auth as user "hades" with AUTH_KEY'));
  };
}
