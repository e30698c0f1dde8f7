import type { Client } from '@temporalio/client';

/** How many workflow runs Temporal has for a job id (any state). */
export async function runsOf(client: Client, id: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${id}'` })) n++;
  return n;
}

/** The attempt number of each activity the job's workflow ran, from its history. */
export async function activityAttempts(client: Client, id: string): Promise<number[]> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : []));
}

/** For each activity the job's workflow ran, the failure type of the attempt before the last one. */
export async function lastFailureTypes(client: Client, id: string): Promise<(string | undefined)[]> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.lastFailure?.applicationFailureInfo?.type ?? undefined] : [],
  );
}
