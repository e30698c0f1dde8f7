// Memo keys of a job's workflow: the job's summary and one key per step, so each update writes
// only what changed and `describe` alone answers GET /jobs/{id}. Shared with the API (no imports).

export const memoKeys = { job: 'job', step: (index: number): string => `step${index}` } as const;
