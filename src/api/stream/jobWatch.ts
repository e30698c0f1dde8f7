import type { JobState } from '../../job';

/** One read of a job's state per interval, however many streams follow it. */
export interface JobWatch {
  /** Calls `onState` after each read (undefined: no such job); returns the unsubscribe. */
  subscribe(id: string, onState: (job: JobState | undefined) => void): () => void;
}

export interface JobWatchOptions {
  read: (id: string) => Promise<JobState | undefined>;
  intervalMs: number;
  /** A failed read, once per job until a read succeeds again; the next interval tries again. */
  logError?: (err: unknown) => void;
}

export function createJobWatch(options: JobWatchOptions): JobWatch {
  const watched = new Map<string, { listeners: Set<(job: JobState | undefined) => void>; timer: NodeJS.Timeout; failing: boolean; reading: boolean }>();

  const tick = async (id: string) => {
    const entry = watched.get(id);
    // One read at a time: a slow Temporal is not asked again before it answered.
    if (!entry || entry.reading) return;
    entry.reading = true;
    try {
      const job = await options.read(id);
      entry.failing = false;
      for (const listener of [...entry.listeners]) listener(job);
    } catch (err) {
      if (!entry.failing) options.logError?.(err);
      entry.failing = true;
    } finally {
      entry.reading = false;
    }
  };

  return {
    subscribe(id, onState) {
      let entry = watched.get(id);
      if (!entry) {
        const timer = setInterval(() => void tick(id), options.intervalMs);
        timer.unref();
        entry = { listeners: new Set(), timer, failing: false, reading: false };
        watched.set(id, entry);
      }
      const listener = (job: JobState | undefined) => onState(job);
      entry.listeners.add(listener);
      return () => {
        const current = watched.get(id);
        if (!current) return;
        current.listeners.delete(listener);
        if (current.listeners.size === 0) {
          clearInterval(current.timer);
          watched.delete(id);
        }
      };
    },
  };
}
