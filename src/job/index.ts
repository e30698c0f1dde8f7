export { stepEnv, envList } from './env';
export { parseMemory, cpusToNano } from './limits';
export { toJobSpec, queuedState } from './normalize';
export { priorityLevel, priorityLevels, defaultPriority } from './priority';
export type { PriorityLevel } from './priority';
export { jobPayloadSchema, stepSchema, fieldErrors, crossFieldErrors, parseJobPayload, limits } from './schema';
export type { JobPayload, StepPayload, FieldError, ParsedPayload } from './schema';
export { jobStatuses, stepStatuses, terminalStatuses } from './types';
export type { JobSpec, JobState, JobStatus, StepSpec, StepState, StepStatus, StepOutcome } from './types';
