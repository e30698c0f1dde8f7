// Step logs on NATS: one message per batch of lines of one step, on `<prefix>.<job id>`.

import type { StepResult } from '../job/types';

export type OutputStream = 'stdout' | 'stderr';

/** One line, in the original Hades's shape (plus `truncated` when a line was cut). */
export interface LogLine {
  timestamp: string;
  message: string;
  output_stream: OutputStream;
  truncated?: true;
}

export interface LogBatch {
  jobId: string;
  stepIndex: number;
  stepId: string;
  stepName: string;
  containerId: string;
  /** Bytes of the step's raw output before this batch, and after it: a re-attached step resumes at `end`. */
  offset: number;
  end: number;
  lines: LogLine[];
  /**
   * On a step's last batch when its activity cleans up after it: how the step ended, on NATS
   * before its container is removed, so a retry of that activity returns it instead of running
   * the step again.
   */
  result?: StepResult;
}

/** A step's logs in Hades's shape, as GET /jobs/{id}/logs answers them. */
export interface StepLogs {
  job_id: string;
  container_id: string;
  step_id: string;
  step_name: string;
  logs: LogLine[];
}

export interface LogNames {
  stream: string;
  subjectPrefix: string;
}

export function logSubject(names: Pick<LogNames, 'subjectPrefix'>, jobId: string): string {
  return `${names.subjectPrefix}.${jobId}`;
}
