// A minimal HTTPS client for the API server with the admin certificate: start-up polls it often,
// and a spawned kubectl costs a few hundred milliseconds of CPU each time.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Identity } from './certs';

export interface ApiClient {
  get<T = unknown>(path: string): Promise<{ status: number; body: T }>;
}

export function apiClient(server: string, ca: string, user: Identity): ApiClient {
  const tls = { ca: readFileSync(ca), cert: readFileSync(user.cert), key: readFileSync(user.key) };
  return {
    get<T>(path: string) {
      return new Promise<{ status: number; body: T }>((resolve, reject) => {
        const req = request(new URL(path, server), { method: 'GET', ...tls, timeout: 10_000 }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              /* plain text (healthz) */
            }
            resolve({ status: res.statusCode ?? 0, body: body as T });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
        req.on('error', reject);
        req.end();
      });
    },
  };
}
