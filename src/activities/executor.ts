import type { StepOutcome, StepSpec } from '../job/types';
import type { OutputStream } from '../logs/types';

/** One run of one step, as the activity hands it to an executor. */
export interface StepRun {
  jobId: string;
  step: StepSpec;
  env: Record<string, string>;
  pullTimeoutSeconds: number;
}

export interface StepHooks {
  /** Aborts the step: the executor stops its container and rejects with StepAbortedError. */
  signal: AbortSignal;
  /**
   * Lets go of the step (its worker is shutting down): the executor stops following it, leaves
   * its container running and rejects with StepDetachedError, so the next attempt re-attaches.
   */
  detach: AbortSignal;
  /** Told once the step's container exists, so a retry can find it again. */
  onContainer(containerId: string): void;
  /** The step's output as it is written, from its start; awaited (backpressure). */
  onOutput(stream: OutputStream, chunk: Buffer): Promise<void>;
}

/** What a container's run came to; the activity adds the output tail. */
export type ContainerOutcome = Omit<StepOutcome, 'outputTail'>;

/**
 * What runs steps: Docker on one host, Kubernetes in production. Re-running `runStep` for the
 * same job and step re-attaches to the step's container while it exists (deterministic names).
 */
export interface Executor {
  readonly kind: 'docker' | 'kubernetes';
  runStep(run: StepRun, hooks: StepHooks): Promise<ContainerOutcome>;
  /** Removes every container and the shared volume of a job; idempotent. */
  cleanupJob(jobId: string): Promise<void>;
  /** The jobs that have a container here now (any state): what occupies this host. */
  activeJobs?(): Promise<Set<string>>;
  /** Every job with a container or volume here, and when the oldest of them was made (ms). */
  leftovers?(): Promise<Map<string, number>>;
}
