import type { JetStreamManager, StreamConfig } from 'nats';
import { statusCodeOf } from '../errors';

/**
 * How long a JetStream API call may take. nats.js waits 5 s by default, which a replicated
 * (R3) stream or bucket being created while several processes start can exceed.
 */
export const jetStreamOptions = { timeout: 20_000 } as const;

/** JetStream's "no such stream / consumer / message" in any of the shapes nats.js reports it. */
export function isNotFound(err: unknown): boolean {
  const code = (err as { api_error?: { code?: number } } | undefined)?.api_error?.code ?? statusCodeOf(err);
  return code === 404 || (err instanceof Error && /not found/i.test(err.message));
}

/** Creates a stream, or brings an existing one to `config`; safe to call from every process at start. */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(config);
    return;
  }
  await jsm.streams.update(config.name, config);
}
