import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  log,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/createActivities';
import type { JobSpec, JobState, StepSpec } from '../job/types';
import { memoKeys } from './memo';
import { jobSearchAttributes } from './searchAttributes';
import { jobEnded, stepEnded, stepFinished } from './state';

type Activities = ReturnType<typeof createActivities>;

export const jobStateQuery = defineQuery<JobState>('jobState');

// Activity failures the workflow must not retry: the user's own mistake, not infrastructure.
export const nonRetryableStepErrors = ['ImagePullFailed', 'InvalidStep'];

const HEARTBEAT_TIMEOUT = '3s';
// The same as agedPriorityKey in src/job (workflow code imports only types from there).
const AGED_PRIORITY_KEY = 1;
const STEP_MARGIN_SECONDS = 60;

interface StepQueue {
  /**
   * A cancelled step is waited for until its activity let go of its container, so the cleanup
   * after it never races it (the SDK's default, in effect, reports the cancel at once).
   */
  waitForCancel?: boolean;
  agingSeconds?: number;
  aged?: boolean;
  /** A host's own task queue (jobs pinned to a host), watched every `checkSeconds`. */
  host?: { taskQueue: string; checkSeconds: number };
}

function activitiesFor(spec: JobSpec, step: StepSpec, pullTimeoutSeconds: number, queue: StepQueue = {}) {
  const stepSeconds = step.timeoutSeconds ?? spec.timeoutSeconds ?? 24 * 3600;
  return proxyActivities<Activities>({
    // Waiting longer than the aging time ends the wait (schedule-to-start timeout, never retried);
    // the step is then scheduled again with the aged key, ahead of fresh work.
    ...(queue.agingSeconds !== undefined && !queue.aged && { scheduleToStartTimeout: `${queue.agingSeconds}s` }),
    // On a host's queue, a wait that long asks whether the host is still there.
    ...(queue.host && { taskQueue: queue.host.taskQueue, scheduleToStartTimeout: `${queue.host.checkSeconds}s` }),
    ...(queue.aged && { priority: { priorityKey: AGED_PRIORITY_KEY } }),
    // The activity enforces the step's own timeout; this bound only catches a lost one.
    startToCloseTimeout: `${stepSeconds + pullTimeoutSeconds + STEP_MARGIN_SECONDS}s`,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: nonRetryableStepErrors },
    ...(queue.waitForCancel && { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }),
    summary: `step ${step.id} "${step.name}" (${step.image})`,
  });
}

const cleanupOptions = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
} as const;
const { cleanupJob } = proxyActivities<Activities>(cleanupOptions);

// Jobs pinned to a host: which host takes the job (it waits for room on a busy host, then goes
// back to the queue: as a queued step, it waits as long as it takes, so attempts are unbounded).
const { claimHost } = proxyActivities<Activities>({
  startToCloseTimeout: '90s',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: Number.POSITIVE_INFINITY, nonRetryableErrorTypes: [] },
});
// Whether a host still polls its queue.
const { hostAlive } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 },
});

/**
 * Callbacks and cleanups run on a task queue of their own, `<queue>.service`, so they never take
 * the slots of steps (CONCURRENCY). Workflows started before this change keep the old queue.
 */
function serviceQueue(): { taskQueue: string } | undefined {
  return patched('service-task-queue') ? { taskQueue: `${workflowInfo().taskQueue}.service` } : undefined;
}

/** How often a job may move to another host after its host was lost (then it fails). */
const MAX_HOST_FAILOVERS = 2;

/** The host a pinned job ran on stopped polling its queue: the job's volume went with it. */
class HostLostError extends Error {
  constructor(readonly taskQueue: string) {
    super(`its host (task queue ${taskQueue}) stopped answering`);
  }
}

export interface CallbackPolicy {
  maximumAttempts: number;
  initialIntervalSeconds: number;
  maximumIntervalSeconds: number;
  timeoutSeconds: number;
}

export interface BuildJobInput {
  spec: JobSpec;
  /** Worker-side defaults the submitter resolved, so replays never depend on worker config. */
  pullTimeoutSeconds: number;
  callback?: CallbackPolicy;
  /** A step queued longer than this jumps ahead of fresh work (absent: no aging). */
  priorityAgingSeconds?: number;
  /**
   * Docker on several hosts: every step of the job runs on the host that claimed it (that host's
   * own task queue), where the job's volume is. A step waiting `checkSeconds` makes the workflow
   * ask whether a worker polled that queue within `lostSeconds`; if none did, the job starts over
   * on another host (at most MAX_HOST_FAILOVERS times).
   */
  pinToHost?: HostPinning;
}

export interface HostPinning {
  checkSeconds: number;
  lostSeconds: number;
}

const defaultCallbackPolicy: CallbackPolicy = { maximumAttempts: 20, initialIntervalSeconds: 1, maximumIntervalSeconds: 60, timeoutSeconds: 10 };

/** Delivers the job's end to its callback_url, however the job ended; a receiver that never takes it is logged, not fatal. */
async function deliverCallback(input: BuildJobInput, state: JobState): Promise<void> {
  const url = input.spec.callbackUrl;
  if (!url) return;
  const policy = input.callback ?? defaultCallbackPolicy;
  const { sendCallback } = proxyActivities<Activities>({
    ...serviceQueue(),
    startToCloseTimeout: `${policy.timeoutSeconds + 30}s`,
    retry: {
      initialInterval: `${policy.initialIntervalSeconds}s`,
      backoffCoefficient: 2,
      maximumInterval: `${policy.maximumIntervalSeconds}s`,
      maximumAttempts: policy.maximumAttempts,
      nonRetryableErrorTypes: ['CallbackRejected'],
    },
    summary: `callback to ${url}`,
  });
  try {
    await CancellationScope.nonCancellable(() => sendCallback({ jobId: state.id, url, status: state.status, timeoutSeconds: policy.timeoutSeconds }));
  } catch (err) {
    log.warn('callback not delivered', { url, error: describeFailure(err) });
  }
}

/**
 * The job's end on the status feed, once its state says so (so a subscriber that reads the job
 * on the event sees it ended). Workflows started before the feed existed skip it (replay).
 * `count`: the job's end is counted in the worker's metrics there (its cleanup may not run).
 */
async function announceEnd(state: JobState, count: boolean): Promise<void> {
  if (!patched('status-feed')) return;
  const { publishStatus } = proxyActivities<Activities>({
    ...serviceQueue(),
    // A publish and a flush: a worker that died holding it is noticed soon.
    startToCloseTimeout: '10s',
    // Some 15 minutes of a NATS outage; then the job ends without its event (logged).
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 35 },
    summary: `status feed: ${state.status}`,
  });
  const event = { jobId: state.id, status: state.status, at: state.finishedAt ?? new Date().toISOString(), ...(state.reason !== undefined && { reason: state.reason }) };
  try {
    await CancellationScope.nonCancellable(() => publishStatus({ ...event, ...(count && { count: { durationMs: queuedToEnd(state) } }) }));
  } catch (err) {
    log.warn('job end not published on the status feed', { status: state.status, error: describeFailure(err) });
  }
}

/** One Hades job: its steps in order, each an activity running one container; cleanup always. */
export async function buildJob(input: BuildJobInput): Promise<JobState> {
  const { spec } = input;
  let state: JobState = {
    id: spec.id,
    name: spec.name,
    priority: spec.priority,
    priorityLevel: spec.priorityLevel,
    status: 'Running',
    queuedAt: spec.submittedAt,
    startedAt: new Date(workflowInfo().startTime).toISOString(),
    steps: spec.steps.map((s) => ({ index: s.index, id: s.id, name: s.name, image: s.image, status: 'Pending' })),
  };
  setHandler(jobStateQuery, () => state);

  // `all` rewrites every step key: only at the end, when skipped steps change at once.
  let shownStatus: string | undefined;
  const publish = (stepIndex?: number | 'all') => {
    const memo: Record<string, unknown> = { [memoKeys.job]: summary(state) };
    for (const step of state.steps) {
      if (stepIndex === 'all' || stepIndex === step.index) memo[memoKeys.step(step.index)] = step;
    }
    upsertMemo(memo);
    if (state.status !== shownStatus) {
      shownStatus = state.status;
      upsertSearchAttributes([{ key: jobSearchAttributes.status, value: state.status }]);
    }
  };
  const setStep = (index: number, update: (s: JobState['steps'][number]) => JobState['steps'][number]) => {
    const current = state.steps[index];
    if (!current) return;
    state = { ...state, steps: state.steps.map((s, i) => (i === index ? update(current) : s)) };
    publish(index);
  };

  // The step the job ends with cleans up after itself (its result says so); a separate cleanup
  // activity is the fallback for every other end (cancelled, timed out, a step that could not run).
  // One patch for both changes of that release: each patch costs every job a marker and a
  // search-attribute update (TemporalChangeVersion) in its history.
  const cleanupInStep = patched('cleanup-in-step');
  const waitForCancel = cleanupInStep;
  let cleanedUp = false;

  // Every end: record it, clean up, publish it, announce it and call back.
  const conclude = async (status: JobState['status'], reason?: string) => {
    state = jobEnded(state, status, new Date().toISOString(), reason);
    if (cleanedUp) publish('all');
    else await finish(spec.id, state, publish, pin && hostQueue ? { taskQueue: hostQueue, pin } : undefined, cleanupInStep);
    await Promise.all([announceEnd(state, cleanupInStep), deliverCallback(input, state)]);
  };

  let timedOut = false;
  let failure: string | undefined;
  const stepsScope = new CancellationScope();
  const deadline = spec.timeoutSeconds;
  if (deadline !== undefined) {
    // Fires in the root scope; if the root is cancelled first, its rejection is expected.
    sleep(deadline * 1000).then(
      () => {
        timedOut = true;
        stepsScope.cancel();
      },
      () => undefined,
    );
  }

  const pin = input.pinToHost;
  let hostQueue: string | undefined;

  /** Runs one step, on the job's host when it is pinned; a lost host throws HostLostError. */
  const runStepOf = async (step: StepSpec, stepInput: Parameters<Activities['runStep']>[0]) => {
    const agingSeconds = input.priorityAgingSeconds;
    const run = (queue: StepQueue) => activitiesFor(spec, step, input.pullTimeoutSeconds, { ...queue, waitForCancel }).runStep(stepInput);
    if (pin && hostQueue) {
      const host = { taskQueue: hostQueue, checkSeconds: pin.checkSeconds };
      for (let aged = false; ; aged = agingSeconds !== undefined) {
        try {
          return await run({ host, aged });
        } catch (err) {
          if (!waitedTooLong(err)) throw err;
          if (!(await hostAlive({ taskQueue: hostQueue, lostSeconds: pin.lostSeconds }))) throw new HostLostError(hostQueue);
        }
      }
    }
    try {
      return await run(agingSeconds === undefined ? {} : { agingSeconds });
    } catch (err) {
      if (!waitedTooLong(err)) throw err;
      return await run({ aged: true });
    }
  };

  const runSteps = async () => {
    for (const step of spec.steps) {
      setStep(step.index, (s) => ({ ...s, status: 'Running', startedAt: new Date().toISOString() }));
      const last = step.index === spec.steps.length - 1;
      const cleanup = !cleanupInStep ? undefined : last ? ('always' as const) : step.continueOnError ? undefined : ('on-failure' as const);
      const stepInput = { job: { id: spec.id, name: spec.name, metadata: spec.metadata }, step, pullTimeoutSeconds: input.pullTimeoutSeconds, ...(cleanup && { cleanup }) };
      let outcome;
      try {
        outcome = await runStepOf(step, stepInput);
      } catch (err) {
        if (isCancellation(err) || err instanceof HostLostError) throw err;
        const reason = `step "${step.name}" could not run: ${describeFailure(err)}`;
        setStep(step.index, (s) => stepEnded(s, 'Failed', reason, new Date().toISOString()));
        if (step.continueOnError) continue;
        failure = reason;
        return;
      }
      if (outcome.cleanedUp) cleanedUp = true;
      setStep(step.index, (s) => stepFinished(s, outcome));
      const ended = state.steps[step.index];
      if (ended && ended.status !== 'Succeeded' && !step.continueOnError) {
        failure = ended.reason ?? `step "${step.name}" failed`;
        if (ended.status === 'TimedOut') timedOut = true;
        return;
      }
    }
  };

  try {
    await stepsScope.run(async () => {
      if (!pin) return runSteps();
      for (let failovers = 0; ; failovers++) {
        hostQueue = (await claimHost({ jobId: spec.id })).taskQueue;
        try {
          return await runSteps();
        } catch (err) {
          if (!(err instanceof HostLostError)) throw err;
          if (failovers >= MAX_HOST_FAILOVERS) {
            failure = `job lost: ${err.message}, ${failovers + 1} time(s)`;
            return;
          }
          log.warn('host lost; the job starts over on another host', { taskQueue: err.taskQueue });
          // Its volume is gone with the host: every step runs again, from the first.
          state = { ...state, steps: state.steps.map((s) => ({ index: s.index, id: s.id, name: s.name, image: s.image, status: 'Pending' as const })) };
          publish('all');
        }
      }
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    if (timedOut) {
      await conclude('TimedOut', `job timed out after ${deadline ?? '?'} s`);
      throw ApplicationFailure.create({ type: 'JobTimedOut', message: state.reason ?? 'timed out', nonRetryable: true });
    }
    await conclude('Cancelled', 'job was cancelled');
    throw err;
  }

  if (failure !== undefined) {
    await conclude(timedOut ? 'TimedOut' : 'Failed', failure);
    throw ApplicationFailure.create({ type: timedOut ? 'JobTimedOut' : 'JobFailed', message: failure, nonRetryable: true });
  }
  await conclude('Succeeded');
  return state;
}

async function finish(jobId: string, state: JobState, publish: (which: 'all') => void, host: { taskQueue: string; pin: HostPinning } | undefined, countedAtEnd: boolean): Promise<void> {
  // Cleanup runs even when the job was cancelled: the scope shields it from that cancellation.
  // The final state is published after it, so a job shown as ended holds no container or volume.
  // (Since 'cleanup-in-step' a job's end is counted where it is announced, not here.)
  const input = countedAtEnd ? { jobId } : { jobId, status: state.status, durationMs: queuedToEnd(state) };
  await CancellationScope.nonCancellable(async () => {
    if (!host) {
      const service = serviceQueue();
      return service ? proxyActivities<Activities>({ ...cleanupOptions, ...service }).cleanupJob(input) : cleanupJob(input);
    }
    // On the job's host, where its containers and volume are, for as long as that host is there.
    const onHost = proxyActivities<Activities>({ ...cleanupOptions, taskQueue: host.taskQueue, scheduleToStartTimeout: `${host.pin.checkSeconds}s` });
    for (;;) {
      try {
        return await onHost.cleanupJob(input);
      } catch (err) {
        if (!waitedTooLong(err)) throw err;
        if (!(await hostAlive({ taskQueue: host.taskQueue, lostSeconds: host.pin.lostSeconds }))) {
          log.warn('host lost before the job was cleaned up; what it left there stays', { taskQueue: host.taskQueue });
          return;
        }
      }
    }
  });
  publish('all');
}

function queuedToEnd(state: JobState): number | undefined {
  if (!state.finishedAt) return undefined;
  return Math.max(0, Date.parse(state.finishedAt) - Date.parse(state.queuedAt));
}

function summary(state: JobState): Omit<JobState, 'steps'> & { stepCount: number } {
  const { steps, ...rest } = state;
  return { ...rest, stepCount: steps.length };
}

/** The step's activity timed out waiting for a worker (schedule-to-start): time to age it. */
function waitedTooLong(err: unknown): boolean {
  const cause = err instanceof Error ? (err.cause as { name?: string; timeoutType?: string } | undefined) : undefined;
  return cause?.name === 'TimeoutFailure' && cause.timeoutType === 'SCHEDULE_TO_START';
}

function describeFailure(err: unknown): string {
  // An ActivityFailure wraps the activity's own error: its message is the one a user can act on.
  if (err instanceof Error && err.cause instanceof Error) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
