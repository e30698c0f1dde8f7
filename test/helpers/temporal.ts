import type { Client } from '@temporalio/client';

/** How many workflow runs Temporal has for a job id (any state). */
export async function runsOf(client: Client, id: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${id}'` })) n++;
  return n;
}

/**
 * A job's history once its workflow closed, and the type of each scheduled activity (by the
 * event id that scheduled it). The status feed's publishStatus is named too; the helpers below
 * leave it out: the tests that look at activities look at the job's own work (statusFeed.test.ts
 * checks the feed).
 */
async function closedHistory(client: Client, id: string) {
  const handle = client.workflow.getHandle(id);
  await handle.result().catch(() => undefined);
  const events = (await handle.fetchHistory()).events ?? [];
  const types = new Map<string, string>();
  for (const e of events) if (e.activityTaskScheduledEventAttributes) types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
  return { events, typeOf: (scheduledEventId: unknown) => types.get(String(scheduledEventId)) };
}

/** The started attempts of a job's activities in history order: its steps, cleanup and callback. */
async function startedActivities(client: Client, id: string) {
  const { events, typeOf } = await closedHistory(client, id);
  return events.flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes;
    const type = started && typeOf(started.scheduledEventId);
    return started && type !== 'publishStatus' ? [{ ...started, type }] : [];
  });
}

/**
 * Each activity the job's workflow ran, from its history, as `<type> <attempt>`: `runStep 1`,
 * `cleanupJob 1` (a job's cleanup runs as an activity of its own only when the step it ended
 * with could not clean up after itself).
 */
export async function activityAttempts(client: Client, id: string): Promise<string[]> {
  return (await startedActivities(client, id)).map((a) => `${a.type ?? '?'} ${a.attempt ?? 0}`);
}

/** For each activity the job's workflow ran, the failure type of the attempt before the last one. */
export async function lastFailureTypes(client: Client, id: string): Promise<(string | undefined)[]> {
  return (await startedActivities(client, id)).map((a) => a.lastFailure?.applicationFailureInfo?.type ?? undefined);
}

/**
 * The job's activities in history order, once its workflow closed: `<type> scheduled` and
 * `<type> ended` (completed, failed, cancelled or timed out), publishStatus left out.
 */
export async function activityTimeline(client: Client, id: string): Promise<string[]> {
  const { events, typeOf } = await closedHistory(client, id);
  const out: string[] = [];
  for (const e of events) {
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskCanceledEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    const type = e.activityTaskScheduledEventAttributes ? typeOf(e.eventId) : ended ? typeOf(ended.scheduledEventId) : undefined;
    if (type && type !== 'publishStatus') out.push(`${type} ${e.activityTaskScheduledEventAttributes ? 'scheduled' : 'ended'}`);
  }
  return out;
}
