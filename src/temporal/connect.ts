import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Config } from '../config';
import { encryptionCodec } from './codec';

export type TemporalConnectionConfig = Pick<
  Config,
  'TEMPORAL_ADDRESS' | 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_SERVER_NAME' | 'TEMPORAL_API_KEY'
>;

/** What both Connection (client) and NativeConnection (worker) take: address, TLS, API key. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/**
 * The connection options the config asks for; `read` reads the certificate files (given so tests
 * need no files). TLS is on when TEMPORAL_TLS=true or any TLS setting or an API key is set.
 */
export function temporalConnectionOptions(
  config: TemporalConnectionConfig,
  read: (path: string) => Buffer = (p) => readFileSync(p),
): TemporalConnectionOptions {
  const useTls =
    config.TEMPORAL_TLS ||
    [config.TEMPORAL_TLS_CA, config.TEMPORAL_TLS_CERT, config.TEMPORAL_TLS_SERVER_NAME, config.TEMPORAL_API_KEY].some((v) => v !== undefined);
  const options: TemporalConnectionOptions = { address: config.TEMPORAL_ADDRESS };
  if (useTls) {
    const tls: TLSConfig = {};
    if (config.TEMPORAL_TLS_CA) tls.serverRootCACertificate = read(config.TEMPORAL_TLS_CA);
    if (config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY) {
      tls.clientCertPair = { crt: read(config.TEMPORAL_TLS_CERT), key: read(config.TEMPORAL_TLS_KEY) };
    }
    if (config.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
    options.tls = tls;
  }
  if (config.TEMPORAL_API_KEY) options.apiKey = config.TEMPORAL_API_KEY;
  return options;
}

/** The payload codecs every client and worker uses: encryption when keys are configured. */
export function payloadCodecs(config: Pick<Config, 'HADES_ENCRYPTION_KEYS'>): PayloadCodec[] {
  return config.HADES_ENCRYPTION_KEYS ? [encryptionCodec(config.HADES_ENCRYPTION_KEYS)] : [];
}

export async function connectTemporal(
  config: TemporalConnectionConfig & Pick<Config, 'TEMPORAL_NAMESPACE' | 'HADES_ENCRYPTION_KEYS'>,
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: { payloadCodecs: payloadCodecs(config) } });
  return { connection, client };
}
