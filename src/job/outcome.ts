import type { StepResult } from './types';

/**
 * Whether a step's run counts as a success: the step activity decides by it whether the job ends
 * with the step (and cleans up), the workflow's stepFinished by the same rule (a unit test holds
 * them to it; workflow code cannot import this).
 */
export function outcomeSucceeded(outcome: StepResult): boolean {
  return outcome.exitCode === 0 && !outcome.timedOut && !outcome.storageExceeded && !outcome.oomKilled;
}
