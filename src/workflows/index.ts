export { buildJob, jobStateQuery, nonRetryableStepErrors } from './buildJob';
export { memoKeys } from './memo';
export type { BuildJobInput } from './buildJob';
