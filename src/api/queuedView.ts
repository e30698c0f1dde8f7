import type { JobState } from '../job';
import { priorityLevel, queuedState } from '../job';
import type { SubmissionRecord } from '../queue/jobQueue';

/** A job the API accepted that no bridge has started yet: queued, or cancelled before it ran. */
export function queuedView(s: SubmissionRecord): JobState {
  const state = queuedState({
    ...s,
    priorityLevel: priorityLevel(s.priority),
    steps: s.steps.map((step, index) => ({ index, ...step })),
  });
  if (s.cancelRequested) return { ...state, status: 'Cancelled', reason: 'job was cancelled before it started' };
  if (s.rejected !== undefined) return { ...state, status: 'Failed', reason: `never started: ${s.rejected}` };
  return state;
}
