import { z } from 'zod';
import { jobStatuses, priorityLevels, stepStatuses } from '../job';
import type { JobState } from '../job';
import type { StepLogs } from '../logs/types';
import type { JobPage } from './deps';
import type { ErrorBody } from './errors';

// Answers of the API as zod schemas, for the OpenAPI document. Each is checked against the
// TypeScript type the code returns, so the document cannot drift from the answers.

export const fieldErrorSchema = z.object({ path: z.string(), message: z.string() });

export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), fields: z.array(fieldErrorSchema).optional() }),
});

export const enqueuedSchema = z.object({ message: z.literal('Successfully enqueued job'), job_id: z.string() });

export const stepStateSchema = z.object({
  index: z.number().int(),
  id: z.string(),
  name: z.string(),
  image: z.string(),
  status: z.enum(stepStatuses),
  exitCode: z.number().int().optional(),
  reason: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  outputTail: z.string().optional(),
});

export const jobStateSchema = z.object({
  id: z.string(),
  name: z.string(),
  priority: z.number().int(),
  priorityLevel: z.enum(priorityLevels),
  status: z.enum(jobStatuses),
  reason: z.string().optional(),
  queuedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  steps: z.array(stepStateSchema),
});

export const jobSummarySchema = jobStateSchema.omit({ steps: true, priorityLevel: true });

export const jobPageSchema = z.object({ jobs: z.array(jobSummarySchema), nextCursor: z.string().optional() });

export const logLineSchema = z.object({
  timestamp: z.string(),
  message: z.string(),
  output_stream: z.enum(['stdout', 'stderr']),
  truncated: z.literal(true).optional(),
});

/** The data of the live stream's events: `log` (one line), then `end`, or `shutdown`. */
export const logStreamEventSchema = z.union([
  logLineSchema.extend({ job_id: z.string(), container_id: z.string(), step_id: z.string(), step_name: z.string() }).describe('`log`: one line'),
  z.object({ job_id: z.string(), status: z.enum(jobStatuses), reason: z.string().optional() }).describe('`end`: the job ended, with its status'),
  z.object({ job_id: z.string(), message: z.string() }).describe('`shutdown`: this API is stopping; reconnect with Last-Event-ID'),
]);

export const stepLogsSchema = z.object({
  job_id: z.string(),
  container_id: z.string(),
  step_id: z.string(),
  step_name: z.string(),
  logs: z.array(logLineSchema),
});

export const jobLogsSchema = z.object({ logs: z.array(stepLogsSchema) });

export const cancelRequestedSchema = z.object({ message: z.string(), job_id: z.string() });

// Compile-time checks: a schema that no longer matches its type fails `tsc`.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const schemaChecks: [
  Same<z.infer<typeof jobStateSchema>, JobState>,
  Same<z.infer<typeof jobPageSchema>, JobPage>,
  Same<z.infer<typeof stepLogsSchema>, StepLogs>,
  Same<z.infer<typeof errorBodySchema>, ErrorBody>,
] = [true, true, true, true];

/** A Temporal payload in its JSON form (protobuf JSON: bytes as base64), as the Web UI sends it. */
export const codecPayloadSchema = z.object({
  metadata: z.record(z.string(), z.base64()).optional(),
  data: z.base64().optional(),
});

/** The body of POST /codec/encode and /codec/decode, and of their answers (Temporal's remote codec convention). */
export const codecBodySchema = z.object({ payloads: z.array(codecPayloadSchema) });
