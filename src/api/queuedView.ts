import type { JobState } from '../job';
import { priorityLevel } from '../job';
import type { SubmissionRecord } from '../queue/jobQueue';

export function queuedView(s: SubmissionRecord): JobState {
  return {
    id: s.id,
    name: s.name,
    priority: s.priority,
    priorityLevel: priorityLevel(s.priority),
    status: s.cancelRequested ? 'Cancelled' : 'Queued',
    ...(s.cancelRequested && { reason: 'job was cancelled before it started' }),
    queuedAt: s.submittedAt,
    steps: s.steps.map((step, index) => ({ index, id: step.id, name: step.name, image: step.image, status: 'Pending' })),
  };
}
