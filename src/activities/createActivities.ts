import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { stepEnv } from '../job';
import type { JobSpec, JobStatus, StepOutcome, StepSpec } from '../job';
import type { Metrics } from '../metrics';
import type { LogStore } from '../logs/logStore';
import { secretValues } from '../logs/secrets';
import { StepLogSink } from '../logs/stepLogSink';
import { sendCallback } from './callback';
import type { CallbackInput } from './callback';
import { StepAbortedError, userErrorTypes } from './errors';
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
}

const HEARTBEAT_EVERY_MS = 1000;
const TAIL_BYTES = 2048;

/** The activities a job's workflow calls, over their dependencies (conventions: factories). */
export function createActivities({ executor, logs, logLimits, metrics }: ActivityDeps) {
  return {
    async runStep(input: RunStepInput): Promise<StepOutcome> {
      const ctx = Context.current();
      const { job, step } = input;
      let containerId: string | undefined = (ctx.info.heartbeatDetails as { containerId?: string } | undefined)?.containerId;
      // Cancellation reaches an activity only through heartbeats; the SDK throttles what it sends.
      const beat = () => ctx.heartbeat({ containerId });
      beat();
      const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
      metrics?.runningSteps.inc();

      // A retry may re-attach to a container whose output was partly published: resume after it.
      let resumeOffset = 0;
      if (ctx.info.attempt > 1) {
        const last = await logs.lastBatch(job.id);
        if (last?.stepIndex === step.index) resumeOffset = last.end;
      }
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

      try {
        const outcome = await executor.runStep(
          { jobId: job.id, step, env: stepEnv(job, step), pullTimeoutSeconds: input.pullTimeoutSeconds },
          {
            signal: ctx.cancellationSignal,
            onContainer: (id) => {
              containerId = id;
              sink = sinkFor(id);
              beat();
            },
            onOutput: (stream, chunk) => (sink ? sink.write(stream, chunk) : Promise.resolve()),
          },
        );
        await sink?.close();
        // A resumed step's sink saw only the rest of the output: its tail comes from the log.
        const outputTail = resumeOffset > 0 ? await tailFromLog(logs, job.id, step.index) : (sink?.tailText() ?? '');
        // Docker's two clocks can put a very short step's end a hair before its start.
        const seconds = Math.max(0, (Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt)) / 1000);
        if (Number.isFinite(seconds)) metrics?.stepDuration.observe({ status: outcome.timedOut ? 'TimedOut' : outcome.exitCode === 0 ? 'Succeeded' : 'Failed' }, seconds);
        return { ...outcome, outputTail };
      } catch (err) {
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
      if (input.status) {
        metrics?.jobsFinished.inc({ status: input.status });
        if (input.durationMs !== undefined) metrics?.jobDuration.observe({ status: input.status }, input.durationMs / 1000);
      }
    },

    async sendCallback(input: CallbackInput): Promise<void> {
      await sendCallback(logs, input);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

async function tailFromLog(logs: LogStore, jobId: string, stepIndex: number): Promise<string> {
  const tail = new OutputTail(TAIL_BYTES);
  for (const batch of await logs.batches(jobId)) {
    if (batch.stepIndex !== stepIndex) continue;
    for (const line of batch.lines) tail.push(Buffer.from(`${line.message}${line.truncated ? ' […]' : ''}\n`));
  }
  return tail.text();
}
