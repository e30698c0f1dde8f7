import type { PayloadCodec } from '@temporalio/common';
import type { JobState, JobStatus } from '../job';
import type { JobWatch } from './stream/jobWatch';
import type { LogStore } from '../logs/logStore';
import type { Metrics } from '../metrics';
import type { JobQueue } from '../queue/jobQueue';

export interface JobSummary {
  id: string;
  name: string;
  status: JobStatus;
  priority: number;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  reason?: string;
}

export interface JobPage {
  jobs: JobSummary[];
  /** Pass back as `cursor` for the next page; absent on the last. */
  nextCursor?: string;
}

export type CancelResult = { outcome: 'requested' } | { outcome: 'finished'; status: JobStatus } | { outcome: 'not_found' };

/** Jobs as Temporal knows them. */
export interface JobStore {
  read(id: string): Promise<JobState | undefined>;
  cancel(id: string): Promise<CancelResult>;
  list(query: { status?: JobStatus; limit: number; cursor?: string }): Promise<JobPage>;
}

/** What the API needs from the outside world; the real ones talk to NATS and Temporal. */
export interface ApiDeps {
  queue: JobQueue;
  jobs: JobStore;
  logs: LogStore;
  /** Whether each backing service answers, for GET /readyz. */
  readiness?: () => Promise<Record<string, boolean>>;
  metrics?: Metrics;
  authKey?: string;
  bodyLimitBytes?: number;
  /** How often a live log stream looks whether its job ended (one read per job, shared by its streams). */
  followPollMs?: number;
  /** The status watch the live log streams share (made from `followPollMs` when absent). */
  jobWatch?: JobWatch;
  newId?: () => string;
  now?: () => Date;
  logError?: (err: unknown) => void;
  /** The networks a step may ask for (STEP_NETWORKS); absent: any. */
  allowedNetworks?: readonly string[];
  /** Job ids a bridge started: one with no workflow any more has ended and expired. */
  started?: { has(id: string): Promise<boolean> };
  /** The payload codec (HADES_ENCRYPTION_KEYS) the /codec routes apply; absent: they answer 404. */
  codec?: PayloadCodec;
  /** Origins whose pages may call /codec (CODEC_CORS_ORIGINS: the Temporal Web UI's). */
  codecCorsOrigins?: readonly string[];
  /** Aborted when the API shuts down: /readyz turns 503, live log streams end with `shutdown`. */
  closing?: AbortSignal;
}
