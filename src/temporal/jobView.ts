import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { JobState, JobStatus, StepState } from '../job';
import { terminalStatuses } from '../job';
import { memoKeys } from '../workflows/memo';


export interface ExecutionFacts {
  status: WorkflowExecutionStatusName;
  memo: Record<string, unknown>;
  closeTime?: Date;
  /** Whether a worker picked up the activity the workflow is waiting on (undefined: none pending). */
  activityStarted?: boolean;
}

/** The job's state from what Temporal's describe shows: memo written by the workflow, plus execution status. */
export function jobView(facts: ExecutionFacts): JobState | undefined {
  const summary = facts.memo[memoKeys.job] as (Omit<JobState, 'steps'> & { stepCount: number }) | undefined;
  if (!summary) return undefined;
  const { stepCount, ...rest } = summary;
  const steps: StepState[] = [];
  for (let i = 0; i < stepCount; i++) {
    const step = facts.memo[memoKeys.step(i)] as StepState | undefined;
    if (step) steps.push(step);
  }
  let job: JobState = { ...rest, steps };

  switch (facts.status) {
    case 'RUNNING':
    case 'PAUSED': {
      const running = steps.find((s) => s.status === 'Running');
      if (running && facts.activityStarted === false) {
        // Scheduled but no worker has taken it yet: the container has not started.
        job = { ...job, steps: steps.map((s) => (s === running ? { ...s, status: 'Pending' as const, startedAt: undefined } : s)) };
        if (!steps.some((s) => s.finishedAt !== undefined)) job = { ...job, status: 'Queued', startedAt: undefined };
      } else if (!terminalStatuses.has(job.status) && steps.every((s) => s.status === 'Pending')) {
        job = { ...job, status: 'Queued' };
      }
      return job;
    }
    case 'COMPLETED':
    case 'FAILED':
      return terminalStatuses.has(job.status) ? job : ended(job, 'Failed', facts, 'the workflow failed');
    case 'CANCELLED':
      return terminalStatuses.has(job.status) ? job : ended(job, 'Cancelled', facts, 'job was cancelled');
    case 'TERMINATED':
      return ended(job, 'Failed', facts, 'the workflow was terminated by an operator');
    case 'TIMED_OUT':
      return ended(job, 'TimedOut', facts, 'the workflow timed out');
    default:
      return job;
  }
}

function ended(job: JobState, status: JobStatus, facts: ExecutionFacts, reason: string): JobState {
  return { ...job, status, reason: job.reason ?? reason, ...(facts.closeTime && { finishedAt: facts.closeTime.toISOString() }) };
}
