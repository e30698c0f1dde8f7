import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { outcomeSucceeded, stepEnv } from '../job';
import type { JobSpec, JobStatus, StepOutcome, StepResult, StepSpec } from '../job';
import type { Metrics } from '../metrics';
import type { LogStore } from '../logs/logStore';
import type { StatusEvent, StatusFeed } from '../queue/statusFeed';
import { secretValues } from '../logs/secrets';
import { StepLogSink } from '../logs/stepLogSink';
import { sendCallback } from './callback';
import type { CallbackInput } from './callback';
import { StepAbortedError, StepDetachedError, userErrorTypes } from './errors';
import { OutputTail } from './outputTail';
import type { Executor } from './executor';

export interface LogLimits {
  maxBytesPerStep: number;
  maxLineBytes: number;
}

export interface ActivityDeps {
  executor: Executor;
  logs: LogStore;
  logLimits: LogLimits;
  metrics?: Pick<Metrics, 'stepDuration' | 'runningSteps' | 'jobsFinished' | 'jobDuration'>;
  /**
   * Set when this worker pins jobs to its host: the task queue only its host's workers poll, and
   * how many jobs the host takes at once (each runs one step at a time).
   */
  host?: { taskQueue: string; concurrency: number };
  /** The callback body keeps the newest lines within this many bytes (CALLBACK_MAX_LOG_BYTES). */
  callbackMaxLogBytes?: number;
  /** Where a job's transitions go (Running from its first step, its end from publishStatus). */
  statusFeed?: StatusFeed;
  /**
   * Tests only: die after a step ended, before Temporal has its result, as a crash would; or
   * when about to publish a job's end on the status feed.
   */
  fault?: 'worker-crash-after-step' | 'worker-crash-before-status';
}

const DEFAULT_CALLBACK_MAX_LOG_BYTES = 4 * 1024 * 1024;

/** How long a claim waits for room on a busy host before it goes back to the queue (retried). */
const CLAIM_WAIT_MS = 60_000;
/** A claimed job counts against its host until its first container exists, or this long. */
const CLAIM_MEMORY_MS = 60_000;

export interface HostClaim {
  taskQueue: string;
}

export interface CleanupInput {
  jobId: string;
  /** How the job ended, for metrics (absent in histories recorded before it was added). */
  status?: JobStatus;
  durationMs?: number;
}

export interface RunStepInput {
  job: Pick<JobSpec, 'id' | 'name' | 'metadata'>;
  step: StepSpec;
  pullTimeoutSeconds: number;
  /**
   * When the job ends with this step, the activity removes the job's containers and volume
   * itself (and says so in its result), saving the workflow a cleanup activity: `always` for the
   * last step, `on-failure` for one whose failure ends the job. Absent: never (older workflows).
   */
  cleanup?: 'always' | 'on-failure';
}

/** Whether the job ends with this step's result (so the step's activity may clean up after it). */
export function endsJob(cleanup: RunStepInput['cleanup'], result: StepResult): boolean {
  return cleanup === 'always' || (cleanup === 'on-failure' && !outcomeSucceeded(result));
}

const HEARTBEAT_EVERY_MS = 1000;
const TAIL_BYTES = 2048;

/** How many ended jobs a worker remembers having counted (a retried cleanup comes soon after). */
const COUNTED_JOBS_REMEMBERED = 10_000;

/** The activities a job's workflow calls, over their dependencies (conventions: factories). */
export function createActivities({ executor, logs, logLimits, metrics, host, fault, callbackMaxLogBytes, statusFeed }: ActivityDeps) {
  // Jobs this host claimed lately (id → when), until their containers show; claims one at a time.
  const claims = new Map<string, number>();
  // Jobs whose end this worker counted lately: a retried cleanup (its result lost on the way to
  // Temporal) counts a job once. Oldest forgotten first.
  const counted = new Set<string>();
  const countOnce = (jobId: string): boolean => {
    if (counted.has(jobId)) return false;
    counted.add(jobId);
    if (counted.size > COUNTED_JOBS_REMEMBERED) counted.delete(counted.values().next().value!);
    return true;
  };
  const countEnd = (jobId: string, status: JobStatus, durationMs: number | undefined) => {
    if (!countOnce(jobId)) return;
    metrics?.jobsFinished.inc({ status });
    if (durationMs !== undefined) metrics?.jobDuration.observe({ status }, durationMs / 1000);
  };
  let claiming: Promise<unknown> = Promise.resolve();
  const tryClaim = async (jobId: string, concurrency: number): Promise<boolean> => {
    const active = (await executor.activeJobs?.()) ?? new Set<string>();
    const now = Date.now();
    // A claim counts until its job has a container here (then the container counts) or ends.
    for (const [id, at] of claims) if (active.has(id) || now - at > CLAIM_MEMORY_MS) claims.delete(id);
    const busy = new Set([...active, ...claims.keys()]);
    busy.delete(jobId);
    if (busy.size >= concurrency) return false;
    claims.set(jobId, now);
    return true;
  };

  return {
    /**
     * A pinned job's first call: this host takes the job once it has room for one more (fewer
     * than CONCURRENCY jobs with containers here), so jobs spread over the hosts by their load.
     */
    async claimHost(input: { jobId: string }): Promise<HostClaim> {
      // Retryable: another worker of the fleet may pin (a fleet should agree on PIN_JOBS_TO_HOST).
      if (!host) throw ApplicationFailure.retryable('this worker does not pin jobs to its host (PIN_JOBS_TO_HOST is off)', 'NotPinning');
      const ctx = Context.current();
      const deadline = Date.now() + CLAIM_WAIT_MS;
      for (;;) {
        const attempt = claiming.then(() => tryClaim(input.jobId, host.concurrency));
        claiming = attempt.catch(() => undefined);
        if (await attempt) return { taskQueue: host.taskQueue };
        if (Date.now() > deadline) throw ApplicationFailure.retryable(`host queue ${host.taskQueue} stayed full`, 'HostBusy');
        ctx.heartbeat();
        await ctx.sleep(250);
      }
    },

    /** Whether any worker polled the host's task queue within `lostSeconds`. */
    async hostAlive(input: { taskQueue: string; lostSeconds: number }): Promise<boolean> {
      const ctx = Context.current();
      const res = await ctx.client.workflowService.describeTaskQueue({
        namespace: ctx.info.workflowNamespace,
        taskQueue: { name: input.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      const newest = Math.max(0, ...(res.pollers ?? []).map((p) => optionalTsToMs(p.lastAccessTime) ?? 0));
      return Date.now() - newest < input.lostSeconds * 1000;
    },

    async runStep(input: RunStepInput): Promise<StepOutcome> {
      const ctx = Context.current();
      const { job, step } = input;
      // The job runs from the moment a worker takes its first step: said before its container
      // starts (and again by a retry, which cannot know whether the first attempt got to it).
      if (step.index === 0) await statusFeed?.publish({ jobId: job.id, status: 'Running', at: new Date().toISOString() });
      // A retry may re-attach to a container whose output was partly published: resume after it.
      // If the last attempt recorded the step's result and cleaned up, the step ran: take it.
      let resumeOffset = 0;
      if (ctx.info.attempt > 1) {
        const last = await logs.lastBatch(job.id);
        if (last?.stepIndex === step.index && last.result) {
          await executor.cleanupJob(job.id);
          return { ...last.result, outputTail: await tailFromLog(logs, job.id, step.index), cleanedUp: true };
        }
        if (last?.stepIndex === step.index) resumeOffset = last.end;
      }
      let containerId: string | undefined = (ctx.info.heartbeatDetails as { containerId?: string } | undefined)?.containerId;
      // Cancellation reaches an activity only through heartbeats; the SDK throttles what it sends.
      const beat = () => ctx.heartbeat({ containerId });
      beat();
      const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
      metrics?.runningSteps.inc();

      let sink: StepLogSink | undefined;
      const secrets = secretValues(job.metadata, step.metadata);
      const sinkFor = (id: string) =>
        new StepLogSink({
          publish: (batch) => logs.publish(batch),
          step: { jobId: job.id, stepIndex: step.index, stepId: step.id, stepName: step.name, containerId: id },
          secrets,
          maxBytes: logLimits.maxBytesPerStep,
          maxLineBytes: logLimits.maxLineBytes,
          resumeOffset,
          tailBytes: TAIL_BYTES,
        });

      const { stop, detach } = splitCancellation(ctx.cancellationSignal);
      try {
        const outcome = await executor.runStep(
          { jobId: job.id, step, env: stepEnv(job, step), pullTimeoutSeconds: input.pullTimeoutSeconds },
          {
            signal: stop,
            detach,
            onContainer: (id) => {
              containerId = id;
              sink = sinkFor(id);
              beat();
            },
            onOutput: (stream, chunk) => (sink ? sink.write(stream, chunk) : Promise.resolve()),
          },
        );
        // The job ends with this step: its result goes on NATS (with its last log lines) before
        // its containers go, so a retry after a crash from here on takes it and runs nothing.
        const cleanUp = sink !== undefined && endsJob(input.cleanup, outcome);
        await sink?.close(cleanUp ? outcome : undefined);
        if (cleanUp) await executor.cleanupJob(job.id);
        // A resumed step's sink saw only the rest of the output: its tail comes from the log.
        const outputTail = resumeOffset > 0 ? await tailFromLog(logs, job.id, step.index) : (sink?.tailText() ?? '');
        // Docker's two clocks can put a very short step's end a hair before its start.
        const seconds = Math.max(0, (Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt)) / 1000);
        if (Number.isFinite(seconds)) metrics?.stepDuration.observe({ status: outcome.timedOut ? 'TimedOut' : outcome.exitCode === 0 ? 'Succeeded' : 'Failed' }, seconds);
        if (fault === 'worker-crash-after-step') process.kill(process.pid, 'SIGKILL');
        return { ...outcome, outputTail, ...(cleanUp && { cleanedUp: true as const }) };
      } catch (err) {
        if (err instanceof StepDetachedError) {
          // The worker is shutting down past its grace time: hand the step back. A failed attempt
          // (not a cancelled one) is retried at once, on another worker, which re-attaches to the
          // same container and resumes the log after what was published here.
          await sink?.close().catch(() => undefined);
          throw ApplicationFailure.create({ type: 'WorkerShutdown', message: `step "${step.name}" handed back: its worker is shutting down`, cause: err });
        }
        if (err instanceof StepAbortedError) {
          // Keep what the step wrote before it was stopped, as far as it gets out in time.
          await Promise.race([sink?.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
          throw new CancelledFailure(`step "${step.name}" stopped: activity cancelled`);
        }
        if (err instanceof Error && (userErrorTypes as readonly string[]).includes(err.name)) {
          throw ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true, cause: err });
        }
        throw err;
      } finally {
        clearInterval(timer);
        metrics?.runningSteps.dec();
      }
    },

    async cleanupJob(input: CleanupInput): Promise<void> {
      await executor.cleanupJob(input.jobId);
      claims.delete(input.jobId);
      if (input.status) countEnd(input.jobId, input.status, input.durationMs);
    },

    /**
     * A job's end on the status feed, after its state says so (the workflow calls it last); with
     * `count`, the end is counted in the metrics here (since the step that ends a job cleans up).
     */
    async publishStatus(input: StatusEvent & { count?: { durationMs?: number } }): Promise<void> {
      if (fault === 'worker-crash-before-status') process.kill(process.pid, 'SIGKILL');
      if (!statusFeed) throw ApplicationFailure.retryable('this worker has no status feed', 'NoStatusFeed');
      const { count, ...event } = input;
      await statusFeed.publish(event);
      if (count) countEnd(event.jobId, event.status, count.durationMs);
    },

    async sendCallback(input: CallbackInput): Promise<void> {
      await sendCallback(logs, input, callbackMaxLogBytes ?? DEFAULT_CALLBACK_MAX_LOG_BYTES);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** The SDK's reason when it cancels running activities because their worker shuts down. */
const WORKER_SHUTDOWN = 'WORKER_SHUTDOWN';

/**
 * An activity's cancellation means two things: stop the step (the job was cancelled, the
 * activity timed out) or let go of it (the worker shuts down: the container runs on).
 */
export function splitCancellation(signal: AbortSignal): { stop: AbortSignal; detach: AbortSignal } {
  const stop = new AbortController();
  const detach = new AbortController();
  const route = () => {
    const reason: unknown = signal.reason;
    if (reason instanceof CancelledFailure && reason.message === WORKER_SHUTDOWN) detach.abort(reason);
    else stop.abort(reason);
  };
  if (signal.aborted) route();
  else signal.addEventListener('abort', route, { once: true });
  return { stop: stop.signal, detach: detach.signal };
}

async function tailFromLog(logs: LogStore, jobId: string, stepIndex: number): Promise<string> {
  const tail = new OutputTail(TAIL_BYTES);
  for await (const batch of logs.eachBatch(jobId)) {
    if (batch.stepIndex !== stepIndex) continue;
    for (const line of batch.lines) tail.push(Buffer.from(`${line.message}${line.truncated ? ' […]' : ''}\n`));
  }
  return tail.text();
}
