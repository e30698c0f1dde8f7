import { coerceError } from '../errors';

/**
 * JetStream set-up that a NATS cluster may answer late while it starts or elects a leader (a
 * request TIMEOUT, 503 no responders): several processes making the same streams at once on a
 * busy cluster see it. Tried again with a growing pause, about a minute in all, before start-up
 * fails for good.
 */
export function isTransientNatsError(err: unknown): boolean {
  const e = coerceError(err);
  const code = String((err as { code?: unknown } | undefined)?.code ?? '');
  return code === 'TIMEOUT' || code === '503' || /timeout|no responders|jetstream (is )?not (enabled|available)|no suitable peers|leader/i.test(e.message);
}

export async function withStartupRetry<T>(
  what: string,
  fn: () => Promise<T>,
  log: (msg: string, data: object) => void,
  pausesMs: readonly number[] = [1000, 2000, 4000, 8000, 15_000, 30_000],
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const pause = pausesMs[attempt];
      if (pause === undefined || !isTransientNatsError(err)) throw err;
      log(`${what} failed; trying again`, { error: coerceError(err).message, attempt: attempt + 1, retryInMs: pause });
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
