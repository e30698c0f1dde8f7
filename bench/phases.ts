// Where one job's time went, from its workflow history (the Temporal server's own timestamps):
// the profile of a job's latency.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const T = temporal.api.enums.v1.EventType;

export interface JobPhases {
  /** POST /build sent → its workflow started (API, NATS, bridge, start). */
  intake: number;
  /** Workflow started → its first workflow task completed (the first step scheduled). */
  firstTask: number;
  /** Step activity scheduled → a worker took it. */
  dispatch: number;
  /** Activity started → completed: the container made, started, waited for, removed (what `docker run --rm` does). */
  activity: number;
  /** Activity completed → the workflow task that records the end completed. */
  lastTask: number;
  /** That task completed → the client saw the end (GET /jobs/{id} polled every 10 ms). */
  seen: number;
}

/** The phases of a one-step job that ended; `postedAt`/`seenAt` are the client's epoch ms. */
export async function jobPhases(client: Client, id: string, postedAt: number, seenAt: number): Promise<JobPhases | undefined> {
  const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const at = (e: (typeof events)[number] | undefined) => (e ? Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6 : NaN);
  const first = (type: number, after = 0) => events.find((e, i) => i >= after && e.eventType === type);
  const index = (e: (typeof events)[number] | undefined) => (e ? events.indexOf(e) : -1);
  const started = first(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  const task1 = first(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const scheduled = first(T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  const activityStarted = first(T.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  const completed = first(T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  const task2 = first(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, index(completed));
  if (!started || !task1 || !scheduled || !activityStarted || !completed || !task2) return undefined;
  return {
    intake: at(started) - postedAt,
    firstTask: at(task1) - at(started),
    dispatch: at(activityStarted) - at(scheduled),
    activity: at(completed) - at(activityStarted),
    lastTask: at(task2) - at(completed),
    seen: seenAt - at(task2),
  };
}
