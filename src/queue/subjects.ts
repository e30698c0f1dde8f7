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
  ackWaitSeconds: number;
  /** Copies of each stream and bucket on a NATS cluster (1 on a single server). */
  replicas?: number;
}

export const defaultQueueSettings: QueueSettings = { duplicateWindowSeconds: 120, ackWaitSeconds: 30 };

export function jobSubject(names: Pick<QueueNames, 'subjectPrefix'>, level: PriorityLevel): string {
  return `${names.subjectPrefix}.${level}`;
}

export function jobSubjects(names: Pick<QueueNames, 'subjectPrefix'>): string[] {
  return priorityLevels.map((level) => jobSubject(names, level));
}
