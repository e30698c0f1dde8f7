// Deterministic names, so a retried activity finds the container its last attempt made.

export const labels = {
  managed: 'io.hades.managed',
  job: 'io.hades.job',
  step: 'io.hades.step',
} as const;

export function containerName(jobId: string, stepIndex: number): string {
  return `hades-${jobId}-step${stepIndex}`;
}

export function volumeName(jobId: string): string {
  return `hades-${jobId}`;
}
