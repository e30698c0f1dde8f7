import type { PriorityLevel } from '../job';
import { priorityLevels } from '../job';

export interface QueueNames {
  stream: string;
  subjectPrefix: string;
  consumer: string;
  submissionsBucket: string;
}

export interface QueueSettings {
  duplicateWindowSeconds: number;
  /** The bridge consumer's redelivery backoff doubles from 2 s up to this (BRIDGE_RETRY_MAX_SECONDS). */
  retryMaxSeconds: number;
  /** Deliveries of one job message at most (BRIDGE_MAX_DELIVERIES); the last failing start dead-letters it. */
  maxDeliveries: number;
  /** Copies of each stream and bucket on a NATS cluster (1 on a single server). */
  replicas?: number;
  /**
   * How a submission goes on the stream (SUBMIT_FORMAT): the whole job as one message
   * (`payload`), or as the current Hades writes it (`reference`): the payload in the job
   * bucket (`payloadBucket`), the 16 bytes of its id on the stream.
   */
  submitFormat?: 'payload' | 'reference';
  payloadBucket?: string;
}

export const defaultQueueSettings: QueueSettings = { duplicateWindowSeconds: 120, retryMaxSeconds: 30, maxDeliveries: 200 };

/**
 * The bridge consumer's `backoff`: how long JetStream waits before it hands a job message out
 * again when the bridge neither acked nor terminated it (a failed start, a bridge that died
 * holding it). Doubles from 2 s up to `maxSeconds`; later redeliveries wait the last value.
 */
export function redeliveryBackoffSeconds(maxSeconds: number): number[] {
  const out: number[] = [];
  for (let s = 2; ; s *= 2) {
    out.push(Math.min(s, maxSeconds));
    if (s >= maxSeconds) return out;
  }
}

export function jobSubject(names: Pick<QueueNames, 'subjectPrefix'>, level: PriorityLevel): string {
  return `${names.subjectPrefix}.${level}`;
}

/** The priority level a job subject ends with (`<prefix>.high`); the inverse of jobSubject. */
export function subjectLevel(subject: string): PriorityLevel | undefined {
  const last = subject.slice(subject.lastIndexOf('.') + 1);
  return (priorityLevels as readonly string[]).includes(last) ? (last as PriorityLevel) : undefined;
}

export function jobSubjects(names: Pick<QueueNames, 'subjectPrefix'>): string[] {
  return priorityLevels.map((level) => jobSubject(names, level));
}
