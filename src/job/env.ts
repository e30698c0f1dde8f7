import type { JobSpec, StepSpec } from './types';

/** The env a step sees, as in Hades: job metadata, then step metadata (step wins), then UUID and JOB_NAME. */
export function stepEnv(job: Pick<JobSpec, 'id' | 'name' | 'metadata'>, step: Pick<StepSpec, 'metadata'>): Record<string, string> {
  return { ...job.metadata, ...step.metadata, UUID: job.id, JOB_NAME: job.name };
}

/** Docker's `KEY=value` list for an env map. */
export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}
