import type { JobState, StepOutcome, StepState, StepStatus } from '../job/types';

// Pure transitions of a job's state; the workflow applies them and publishes the result.

function durationMs(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

export function stepFinished(step: StepState, outcome: StepOutcome): StepState {
  let status: StepStatus = outcome.exitCode === 0 ? 'Succeeded' : 'Failed';
  let reason: string | undefined;
  if (outcome.timedOut) {
    status = 'TimedOut';
    reason = `step "${step.name}" timed out and was killed`;
  } else if (outcome.storageExceeded) {
    status = 'Failed';
    reason = `step "${step.name}" was killed: the job's /shared holds ${outcome.storageExceeded.bytes} bytes, over its limit of ${outcome.storageExceeded.limitBytes} (JOB_STORAGE_LIMIT)`;
  } else if (outcome.oomKilled) {
    status = 'Failed';
    reason = `step "${step.name}" was killed: out of memory (exit code ${outcome.exitCode})`;
  } else if (outcome.exitCode !== 0) {
    reason = `step "${step.name}" exited with code ${outcome.exitCode}`;
  }
  return {
    ...step,
    status,
    exitCode: outcome.exitCode,
    ...(reason !== undefined && { reason }),
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    ...(durationMs(outcome.startedAt, outcome.finishedAt) !== undefined && {
      durationMs: durationMs(outcome.startedAt, outcome.finishedAt),
    }),
    outputTail: outcome.outputTail,
  };
}

export function stepEnded(step: StepState, status: StepStatus, reason: string, at: string): StepState {
  return { ...step, status, reason, finishedAt: at };
}

export function jobEnded(job: JobState, status: JobState['status'], at: string, reason?: string): JobState {
  const steps = job.steps.map((s) =>
    s.status === 'Pending' ? { ...s, status: 'Skipped' as const } : s.status === 'Running' ? { ...s, status: endedStepStatus(status), finishedAt: at } : s,
  );
  const ended: JobState = { ...job, status, steps, finishedAt: at };
  if (reason !== undefined) ended.reason = reason;
  const d = durationMs(job.startedAt ?? job.queuedAt, at);
  if (d !== undefined) ended.durationMs = d;
  return ended;
}

function endedStepStatus(jobStatus: JobState['status']): StepStatus {
  if (jobStatus === 'Cancelled') return 'Cancelled';
  if (jobStatus === 'TimedOut') return 'TimedOut';
  return 'Failed';
}
