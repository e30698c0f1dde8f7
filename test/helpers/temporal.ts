import type { Client } from '@temporalio/client';

/** How many workflow runs Temporal has for a job id (any state). */
export async function runsOf(client: Client, id: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${id}'` })) n++;
  return n;
}

/**
 * The started attempts of a job's activities in history order, once its workflow closed: its
 * steps, cleanup and callback (the status feed's publishStatus left out: the tests that count
 * attempts count the job's own work; statusFeed.test.ts checks the feed).
 */
async function startedActivities(client: Client, id: string) {
  const handle = client.workflow.getHandle(id);
  await handle.result().catch(() => undefined);
  const events = (await handle.fetchHistory()).events ?? [];
  const types = new Map<string, string>();
  for (const e of events) if (e.activityTaskScheduledEventAttributes) types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
  return events.flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes;
    const type = started && types.get(String(started.scheduledEventId));
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
  const handle = client.workflow.getHandle(id);
  await handle.result().catch(() => undefined);
  const events = (await handle.fetchHistory()).events ?? [];
  const types = new Map<string, string>();
  const out: string[] = [];
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '?');
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskCanceledEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    const type = scheduled ? types.get(String(e.eventId)) : ended ? types.get(String(ended.scheduledEventId)) : undefined;
    if (type && type !== 'publishStatus') out.push(`${type} ${scheduled ? 'scheduled' : 'ended'}`);
  }
  return out;
}
