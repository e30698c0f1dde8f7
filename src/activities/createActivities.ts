import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { stepEnv } from '../job';
import type { JobSpec, StepOutcome, StepSpec } from '../job';
import { StepAbortedError, userErrorTypes } from './errors';
import type { Executor } from './executor';

export interface ActivityDeps {
  executor: Executor;
}

export interface RunStepInput {
  job: Pick<JobSpec, 'id' | 'name' | 'metadata'>;
  step: StepSpec;
  pullTimeoutSeconds: number;
}

const HEARTBEAT_EVERY_MS = 1000;

/** The activities a job's workflow calls, over their dependencies (conventions: factories). */
export function createActivities({ executor }: ActivityDeps) {
  return {
    async runStep(input: RunStepInput): Promise<StepOutcome> {
      const ctx = Context.current();
      let containerId: string | undefined = (ctx.info.heartbeatDetails as { containerId?: string } | undefined)?.containerId;
      // Cancellation reaches an activity only through heartbeats; the SDK throttles what it sends.
      const beat = () => ctx.heartbeat({ containerId });
      beat();
      const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
      try {
        return await executor.runStep(
          { jobId: input.job.id, step: input.step, env: stepEnv(input.job, input.step), pullTimeoutSeconds: input.pullTimeoutSeconds },
          {
            signal: ctx.cancellationSignal,
            onContainer: (id) => {
              containerId = id;
              beat();
            },
          },
        );
      } catch (err) {
        if (err instanceof StepAbortedError) {
          throw new CancelledFailure(`step "${input.step.name}" stopped: activity cancelled`);
        }
        if (err instanceof Error && (userErrorTypes as readonly string[]).includes(err.name)) {
          throw ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true, cause: err });
        }
        throw err;
      } finally {
        clearInterval(timer);
      }
    },

    async cleanupJob(input: { jobId: string }): Promise<void> {
      await executor.cleanupJob(input.jobId);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
