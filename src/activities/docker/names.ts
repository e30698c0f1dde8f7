// Deterministic names, so a retried activity finds the container its last attempt made.
export { labels } from '../labels';

export function containerName(jobId: string, stepIndex: number): string {
  return `hades-${jobId}-step${stepIndex}`;
}

export function volumeName(jobId: string): string {
  return `hades-${jobId}`;
}
