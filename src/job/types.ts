import type { PriorityLevel } from './priority';

// The job as the engine sees it: a normalised payload (workflow input) and its observable state.

export const jobStatuses = ['Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled', 'TimedOut'] as const;
export type JobStatus = (typeof jobStatuses)[number];

export const stepStatuses = ['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled', 'TimedOut'] as const;
export type StepStatus = (typeof stepStatuses)[number];

export interface StepSpec {
  index: number;
  id: string;
  name: string;
  image: string;
  script?: string;
  continueOnError: boolean;
  metadata: Record<string, string>;
  cpuLimit?: number;
  memoryBytes?: number;
  memorySwapBytes?: number;
  pidsLimit?: number;
  network?: string;
  timeoutSeconds?: number;
}

export interface JobSpec {
  id: string;
  name: string;
  metadata: Record<string, string>;
  priority: number;
  priorityLevel: PriorityLevel;
  callbackUrl?: string;
  timeoutSeconds?: number;
  timestamp?: string;
  submittedAt: string;
  steps: StepSpec[];
}

/** What one run of a step's container came to (an activity result: small, no logs). */
export interface StepOutcome {
  containerId: string;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
  timedOut: boolean;
  /** Killed because the job's /shared grew past the storage limit (JOB_STORAGE_LIMIT, Docker). */
  storageExceeded?: { bytes: number; limitBytes: number };
  /** Last bytes of the step's output, for the reason and the Web UI; full logs go elsewhere. */
  outputTail: string;
  /** The step's activity removed the job's containers and volume: the job ended with it. */
  cleanedUp?: true;
}

/** What a container's run came to, as recorded beside its logs (the output tail aside). */
export type StepResult = Omit<StepOutcome, 'outputTail' | 'cleanedUp'>;

export interface StepState {
  index: number;
  id: string;
  name: string;
  image: string;
  status: StepStatus;
  exitCode?: number;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  outputTail?: string;
}

export interface JobState {
  id: string;
  name: string;
  priority: number;
  priorityLevel: PriorityLevel;
  status: JobStatus;
  reason?: string;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  steps: StepState[];
}

export const terminalStatuses: ReadonlySet<JobStatus> = new Set(['Succeeded', 'Failed', 'Cancelled', 'TimedOut']);
