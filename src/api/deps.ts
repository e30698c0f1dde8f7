import type { JobState } from '../job';
import type { JobQueue } from '../queue/jobQueue';

/** What the API needs from the outside world; the real ones talk to NATS and Temporal. */
export interface ApiDeps {
  queue: JobQueue;
  readJob(id: string): Promise<JobState | undefined>;
  authKey?: string;
  bodyLimitBytes?: number;
  newId?: () => string;
  now?: () => Date;
  logError?: (err: unknown) => void;
}
