import { createHash } from 'node:crypto';

// Deterministic Kubernetes names, so a retried activity finds the pod its last attempt made.
// A job id may hold capitals, `_` and `.` and be 128 long; object names are lower-case DNS
// labels and label values at most 63: ids that do not fit get a readable prefix and a hash.

const plain = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** The job's key in names and label values: the id itself when it fits, else prefix + hash. */
export function jobKey(jobId: string): string {
  if (plain.test(jobId)) return jobId;
  const prefix = jobId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 30)
    .replace(/^-+|-+$/g, '');
  const hash = createHash('sha256').update(jobId).digest('hex').slice(0, 12);
  return prefix ? `${prefix}-${hash}` : hash;
}

export function podName(jobId: string, stepIndex: number): string {
  return `hades-${jobKey(jobId)}-step${stepIndex}`;
}

export function claimName(jobId: string): string {
  return `hades-${jobKey(jobId)}`;
}

export function isolationPolicyName(jobId: string): string {
  return `hades-${jobKey(jobId)}-no-network`;
}

/** Annotation with the job id as given (the label holds its key). */
export const jobIdAnnotation = 'io.hades.job-id';
/** Label set on pods of steps with `network: none`: the job's NetworkPolicy selects them. */
export const isolatedLabel = 'io.hades.network-none';
