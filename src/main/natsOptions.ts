import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator } from 'nats';
import type { ConnectionOptions } from 'nats';
import type { Config } from '../config';

export type NatsConnectionConfig = Pick<
  Config,
  'NATS_URL' | 'NATS_CREDS' | 'NATS_NKEY' | 'NATS_TOKEN' | 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TLS_CA' | 'NATS_TLS_CERT' | 'NATS_TLS_KEY'
>;

/**
 * nats.js connection options from the config: the servers (NATS_URL, comma-separated), the one
 * kind of authentication set, and TLS (on with a tls:// URL or any NATS_TLS_* setting).
 * `read` reads the creds and seed files (given so tests need no files).
 */
export function natsConnectionOptions(
  config: NatsConnectionConfig,
  extra: Partial<ConnectionOptions> = {},
  read: (path: string) => Uint8Array = (p) => readFileSync(p),
): ConnectionOptions {
  const servers = config.NATS_URL.split(',').map((s) => s.trim()).filter(Boolean);
  // No async stack traces: by default nats.js makes an Error (stack and all) for every request,
  // in case it times out; that was a sixth of the API's CPU per POST /build, whose publishes now
  // skip requests altogether (queue/pubAcks.ts). Every other request (KV reads, log batches) still
  // saves it. Errors keep their messages, only the caller's frames go.
  const options: ConnectionOptions = { noAsyncTraces: true, ...extra, servers };
  if (config.NATS_CREDS) options.authenticator = credsAuthenticator(read(config.NATS_CREDS));
  else if (config.NATS_NKEY) options.authenticator = nkeyAuthenticator(new TextEncoder().encode(new TextDecoder().decode(read(config.NATS_NKEY)).trim()));
  else if (config.NATS_TOKEN) options.token = config.NATS_TOKEN;
  else if (config.NATS_USER) {
    options.user = config.NATS_USER;
    if (config.NATS_PASSWORD) options.pass = config.NATS_PASSWORD;
  }
  const tlsUrl = servers.some((s) => s.startsWith('tls://'));
  if (tlsUrl || config.NATS_TLS_CA || config.NATS_TLS_CERT) {
    options.tls = {
      ...(config.NATS_TLS_CA && { caFile: config.NATS_TLS_CA }),
      ...(config.NATS_TLS_CERT && { certFile: config.NATS_TLS_CERT }),
      ...(config.NATS_TLS_KEY && { keyFile: config.NATS_TLS_KEY }),
    };
  }
  return options;
}
