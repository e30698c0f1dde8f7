import type { NativeConnection } from '@temporalio/worker';
import { coerceError } from '../errors';
import type { Logger } from './logger';
import type { HadesWorker } from './worker';

export interface RunningWorker {
  worker: HadesWorker;
  connection: NativeConnection;
}

export interface SupervisedWorker {
  stop(): Promise<void>;
  /** The worker running now (a new one after each failure). */
  current(): RunningWorker;
  /** How many times a worker was replaced. */
  restarts(): number;
}

const delays = [1000, 2000, 5000, 10_000];

/**
 * Runs a worker and, when it dies (the SDK gives up on a Temporal server that is down for long),
 * makes a new one once Temporal answers again. The first one must start: a bad set-up fails fast.
 */
export async function superviseWorker(make: () => Promise<RunningWorker>, log: Logger): Promise<SupervisedWorker> {
  let current: RunningWorker = await make();
  let stopping = false;
  let restarts = 0;
  let wake: (() => void) | undefined;

  const loop = (async () => {
    for (let failures = 0; !stopping; ) {
      try {
        await current.worker.run();
        if (stopping) return;
        throw new Error('worker stopped on its own');
      } catch (err) {
        if (stopping) return;
        log.error({ error: coerceError(err).message }, 'worker failed; starting a new one');
        await current.connection.close().catch(() => undefined);
      }
      for (;;) {
        const delay = delays[Math.min(failures++, delays.length - 1)] ?? 10_000;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, delay);
        });
        if (stopping) return;
        try {
          current = await make();
          failures = 0;
          restarts++;
          log.info('worker running again');
          break;
        } catch (err) {
          log.warn({ error: coerceError(err).message }, 'worker could not start yet');
        }
      }
    }
  })();

  return {
    current: () => current,
    restarts: () => restarts,
    async stop() {
      stopping = true;
      wake?.();
      if (current.worker.getState() === 'RUNNING') current.worker.shutdown();
      await loop;
      await current.connection.close().catch(() => undefined);
    },
  };
}
