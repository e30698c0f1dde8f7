import type { StepResult } from '../job/types';
import type { LogBatch, LogLine } from './types';

// A batch of step logs as it travels on NATS: in the current Hades's shape (`job_id`,
// `container_id`, `logs`), so its log subscribers read it, with this project's own fields beside.

export interface LogBatchWire {
  job_id: string;
  container_id: string;
  logs: LogLine[];
  step_index: number;
  step_id: string;
  step_name: string;
  offset: number;
  end: number;
  step_result?: StepResult;
}

/** How batches were written before they took the current Hades's shape (still in a stream for its retention). */
interface LegacyLogBatch {
  jobId: string;
  containerId: string;
  lines: LogLine[];
  stepIndex: number;
  stepId: string;
  stepName: string;
  offset: number;
  end: number;
}

export function toWire(batch: LogBatch): LogBatchWire {
  return {
    job_id: batch.jobId,
    container_id: batch.containerId,
    logs: batch.lines,
    step_index: batch.stepIndex,
    step_id: batch.stepId,
    step_name: batch.stepName,
    offset: batch.offset,
    end: batch.end,
    ...(batch.result && { step_result: batch.result }),
  };
}

export function fromWire(raw: LogBatchWire | LegacyLogBatch): LogBatch {
  if ('jobId' in raw) return { jobId: raw.jobId, containerId: raw.containerId, lines: raw.lines, stepIndex: raw.stepIndex, stepId: raw.stepId, stepName: raw.stepName, offset: raw.offset, end: raw.end };
  return {
    jobId: raw.job_id,
    containerId: raw.container_id,
    lines: raw.logs,
    stepIndex: raw.step_index,
    stepId: raw.step_id,
    stepName: raw.step_name,
    offset: raw.offset,
    end: raw.end,
    ...(raw.step_result && { result: raw.step_result }),
  };
}
