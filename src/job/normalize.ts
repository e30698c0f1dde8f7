import { parseMemory } from './limits';
import { priorityLevel } from './priority';
import type { JobPayload } from './schema';
import type { JobSpec, JobState, StepSpec } from './types';

/** The workflow input for a validated payload. */
export function toJobSpec(payload: JobPayload, id: string, submittedAt: Date): JobSpec {
  return {
    id,
    name: payload.name,
    metadata: payload.metadata ?? {},
    priority: payload.priority,
    priorityLevel: priorityLevel(payload.priority),
    ...(payload.callback_url !== undefined && { callbackUrl: payload.callback_url }),
    ...(payload.timeout_seconds !== undefined && { timeoutSeconds: payload.timeout_seconds }),
    ...(payload.timestamp !== undefined && { timestamp: payload.timestamp }),
    submittedAt: submittedAt.toISOString(),
    steps: payload.steps.map((step, index) => ({
      index,
      id: step.id === undefined ? String(index + 1) : String(step.id),
      name: step.name ?? `step ${index + 1}`,
      image: step.image,
      ...(step.script !== undefined && step.script !== '' && { script: step.script }),
      continueOnError: step.continue_on_error ?? false,
      metadata: step.metadata ?? {},
      ...(step.cpu_limit !== undefined && { cpuLimit: step.cpu_limit }),
      ...(step.memory_limit !== undefined && { memoryBytes: parseMemory(step.memory_limit) }),
      ...(step.memory_swap !== undefined && { memorySwapBytes: parseMemory(step.memory_swap) }),
      ...(step.pids_limit !== undefined && { pidsLimit: step.pids_limit }),
      ...(step.network !== undefined && { network: step.network }),
      ...(step.timeout_seconds !== undefined && { timeoutSeconds: step.timeout_seconds }),
    })),
  };
}

/**
 * A job with no timeout of its own gives each step without one `seconds` (STEP_TIMEOUT_SECONDS),
 * so a step that never ends (a `sleep infinity`, a hung test) is killed and the job ends TimedOut.
 * Applied when the job is started, so the workflow input shows the timeout each step ran under.
 */
export function withDefaultStepTimeout(spec: JobSpec, seconds: number | undefined): JobSpec {
  if (seconds === undefined || spec.timeoutSeconds !== undefined || spec.steps.every((s) => s.timeoutSeconds !== undefined)) return spec;
  return { ...spec, steps: spec.steps.map((s) => (s.timeoutSeconds === undefined ? { ...s, timeoutSeconds: seconds } : s)) };
}

/** The state of a job nobody has started yet. */
export function queuedState(
  spec: Pick<JobSpec, 'id' | 'name' | 'priority' | 'priorityLevel' | 'submittedAt'> & { steps: Pick<StepSpec, 'index' | 'id' | 'name' | 'image'>[] },
): JobState {
  return {
    id: spec.id,
    name: spec.name,
    priority: spec.priority,
    priorityLevel: spec.priorityLevel,
    status: 'Queued',
    queuedAt: spec.submittedAt,
    steps: spec.steps.map((s) => ({ index: s.index, id: s.id, name: s.name, image: s.image, status: 'Pending' })),
  };
}
