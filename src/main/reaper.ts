import type { Executor } from '../activities/executor';
import { coerceError } from '../errors';
import type { Logger } from './logger';

export interface ReaperDeps {
  executor: Pick<Executor, 'cleanupJob' | 'leftovers'>;
  /** Whether the job's workflow still runs; true when unsure (nothing is removed on a doubt). */
  isRunning(jobId: string): Promise<boolean>;
  intervalMs: number;
  /** Resources younger than this are left alone. */
  graceMs: number;
  log: Pick<Logger, 'warn' | 'error'>;
}

/**
 * Removes the containers and volumes of jobs whose workflow no longer runs (terminated, or whose
 * cleanup ran out of retries): every job's own cleanup does it otherwise. Logs what it removes.
 */
export function startReaper(deps: ReaperDeps): { stop(): Promise<void> } {
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> = Promise.resolve();

  const reap = async () => {
    const leftovers = (await deps.executor.leftovers?.()) ?? new Map<string, number>();
    for (const [jobId, oldestMs] of leftovers) {
      if (stopping) return;
      if (Date.now() - oldestMs < deps.graceMs) continue;
      if (await deps.isRunning(jobId)) continue;
      await deps.executor.cleanupJob(jobId);
      deps.log.warn({ job: jobId, since: new Date(oldestMs).toISOString() }, 'reaped the containers and volume of a job that no longer runs');
    }
  };
  const schedule = () => {
    timer = setTimeout(() => {
      pass = reap()
        .catch((err: unknown) => deps.log.error({ error: coerceError(err).message }, 'reaper pass failed'))
        .finally(() => {
          if (!stopping) schedule();
        });
    }, deps.intervalMs);
  };
  schedule();
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await pass;
    },
  };
}
