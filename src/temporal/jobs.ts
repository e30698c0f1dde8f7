import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { JobSpec, JobState } from '../job';
import { priorityKeys, queuedState } from '../job';
import type { BuildJobInput, CallbackPolicy, HostPinning } from '../workflows/buildJob';
import { memoKeys } from '../workflows/memo';
import { jobSearchAttributes } from '../workflows/searchAttributes';
import { jobView } from './jobView';
import { coerceError, grpcCodeOf, StartRefusedError } from '../errors';

const GRPC_INVALID_ARGUMENT = 3;

/** What the server said: gRPC's details sit on the client error's cause. */
function grpcDetails(err: unknown): string {
  const cause = (err as { cause?: { details?: unknown; message?: unknown } }).cause;
  const details = typeof cause?.details === 'string' && cause.details ? cause.details : typeof cause?.message === 'string' ? cause.message : '';
  const message = coerceError(err).message;
  return details ? `${message}: ${details}` : message;
}

export const workflowType = 'buildJob';

export interface StartJobOptions {
  taskQueue: string;
  pullTimeoutSeconds: number;
  callback?: CallbackPolicy;
  priorityAgingSeconds?: number;
  /** Every step of the job on the host that claimed it (Docker on several hosts). */
  pinToHost?: HostPinning;
}

/** The memo a job starts with: what GET /jobs shows until the workflow writes its own. */
export function initialMemo(spec: JobSpec): Record<string, unknown> {
  const state = queuedState(spec);
  const { steps, ...summary } = state;
  const memo: Record<string, unknown> = { [memoKeys.job]: { ...summary, stepCount: steps.length } };
  for (const step of steps) memo[memoKeys.step(step.index)] = step;
  return memo;
}

/**
 * Starts a job's workflow with workflow id = job id. A second start of the same id is a no-op,
 * while the first runs (conflict policy) and after it closed (reuse policy): a job runs at most once.
 */
export async function startJob(client: Client, spec: JobSpec, options: StartJobOptions): Promise<void> {
  const input: BuildJobInput = {
    spec,
    pullTimeoutSeconds: options.pullTimeoutSeconds,
    ...(options.callback && { callback: options.callback }),
    ...(options.priorityAgingSeconds !== undefined && { priorityAgingSeconds: options.priorityAgingSeconds }),
    ...(options.pinToHost && { pinToHost: options.pinToHost }),
  };
  try {
    await client.workflow.start(workflowType, {
      workflowId: spec.id,
      taskQueue: options.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: initialMemo(spec),
      // Steps inherit the workflow's priority: when workers are busy, higher keys wait.
      priority: { priorityKey: priorityKeys[spec.priorityLevel] },
      typedSearchAttributes: [
        { key: jobSearchAttributes.name, value: spec.name },
        { key: jobSearchAttributes.status, value: 'Queued' },
        { key: jobSearchAttributes.priority, value: spec.priority },
      ],
    });
  } catch (err) {
    // A closed run of this id exists: the job ran already, and must not run again.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    // INVALID_ARGUMENT (an unregistered search attribute, input over the server's limits): final.
    if (grpcCodeOf(err) === GRPC_INVALID_ARGUMENT) throw new StartRefusedError(grpcDetails(err), { cause: err });
    throw err;
  }
}

/** The job's workflow as Temporal describes it, or undefined when it has no workflow of that id. */
async function describeJob(client: Client, id: string) {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Whether Temporal has a workflow for the job (any state). */
export async function jobExists(client: Client, id: string): Promise<boolean> {
  return (await describeJob(client, id)) !== undefined;
}

/** The job's state, or undefined when Temporal has no workflow of that id. */
export async function readJob(client: Client, id: string): Promise<JobState | undefined> {
  const description = await describeJob(client, id);
  if (!description) return undefined;
  const pending = description.raw.pendingActivities ?? [];
  const states = temporal.api.enums.v1.PendingActivityState;
  const activityStarted =
    pending.length === 0 ? undefined : pending.some((a) => a.state === states.PENDING_ACTIVITY_STATE_STARTED || a.state === states.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED);
  return jobView({
    status: description.status.name,
    memo: description.memo ?? {},
    ...(description.closeTime && { closeTime: description.closeTime }),
    ...(activityStarted !== undefined && { activityStarted }),
  });
}
