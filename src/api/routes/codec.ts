import { Router } from 'express';
import type { RequestHandler } from 'express';
import type { Payload } from '@temporalio/common';
import type { z } from 'zod';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { codecBodySchema } from '../schemas';
import { validate } from '../validate';

// Temporal's remote codec convention: the Web UI (and `temporal` CLI with --codec-endpoint) sends
// the payloads it shows to POST <endpoint>/decode and gets them back decrypted. Behind the API's
// auth; cross-origin calls only from CODEC_CORS_ORIGINS (the Web UI's origin).

type JsonPayload = z.infer<typeof codecBodySchema>['payloads'][number];

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** CORS for the codec routes: the listed origins, with credentials (the browser's Basic auth); preflight needs no auth. */
export function codecCors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    res.vary('Origin');
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
        res.setHeader('Access-Control-Max-Age', '600');
        return void res.status(204).end();
      }
    }
    next();
  };
}

export function codecRoutes(deps: ApiDeps): Router {
  const router = Router();
  for (const direction of ['encode', 'decode'] as const) {
    router.post(`/codec/${direction}`, async (req, res) => {
      const { codec } = deps;
      if (!codec) throw new ApiError(404, 'codec_disabled', 'HADES_ENCRYPTION_KEYS is not set: Temporal stores payloads in clear, there is nothing to decode');
      const body = validate(codecBodySchema, req.body, 'invalid_payloads');
      let payloads: Payload[];
      try {
        payloads = await codec[direction](body.payloads.map(fromJson));
      } catch (err) {
        if (err instanceof Error && err.name === 'PayloadDecryptionError') throw new ApiError(422, 'undecodable', err.message);
        throw err;
      }
      res.json({ payloads: payloads.map(toJson) });
    });
  }
  return router;
}
