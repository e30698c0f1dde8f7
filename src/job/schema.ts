import { z } from 'zod';
import { parseMemory } from './limits';
import { currentHadesFormatErrors, dropGoZeroValues } from './goClients';
import { defaultPriority } from './priority';

// The Hades job payload. Unknown fields are accepted and dropped (zod's default strip), because
// real Hades clients send `volumes`, `volumeMounts`, `workingDir` and more.

export const limits = {
  maxSteps: 100,
  maxScriptBytes: 256 * 1024,
  maxMetadataEntries: 200,
  maxMetadataValueBytes: 64 * 1024,
  maxNameLength: 256,
  maxTimeoutSeconds: 7 * 24 * 3600,
  maxCpuCores: 1024,
  maxPids: 4_194_304,
} as const;

/** "x is required" for a missing field, zod's own words for a wrong type. */
function required(field: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `${field} is required` : undefined);
}

const envKey = z
  .string()
  .min(1, 'must not be empty')
  .max(256)
  .regex(/^[^=\0]+$/, 'must not contain "=" or NUL');

export const metadataSchema = z
  .record(envKey, z.string().max(limits.maxMetadataValueBytes))
  .refine((m) => Object.keys(m).length <= limits.maxMetadataEntries, {
    message: `at most ${limits.maxMetadataEntries} entries`,
  });

const MIN_MEMORY = 6 * 1024 * 1024;
const memoryString = z.string().superRefine((s, ctx) => {
  const bytes = parseMemory(s);
  if (bytes === undefined) ctx.addIssue({ code: 'custom', message: 'not a memory size such as 512M or 2G' });
  else if (bytes < MIN_MEMORY) ctx.addIssue({ code: 'custom', message: 'must be at least 6M (Docker minimum)' });
});

// Docker network names: `none`, `bridge`, `host`, `default`, or a user network name.
const networkName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'not a valid network name');

const timeoutSeconds = z.number().int().positive().max(limits.maxTimeoutSeconds);

const imageRef = z.string({ error: required('image') }).superRefine((s, ctx) => {
  if (s.length === 0) ctx.addIssue({ code: 'custom', message: 'image is required' });
  else if (s.length > 512 || !/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/.test(s)) ctx.addIssue({ code: 'custom', message: 'not a valid image reference' });
});

export const stepSchema = z
  .object({
    id: z.union([z.number().int().nonnegative(), z.string().min(1).max(64)]).optional(),
    name: z.string().max(limits.maxNameLength).optional(),
    image: imageRef,
    script: z.string().max(limits.maxScriptBytes).optional(),
    continue_on_error: z.boolean().optional(),
    metadata: metadataSchema.optional(),
    cpu_limit: z.number().positive().max(limits.maxCpuCores).optional(),
    memory_limit: memoryString.optional(),
    memory_swap: memoryString.optional(),
    pids_limit: z.number().int().positive().max(limits.maxPids).optional(),
    network: networkName.optional(),
    timeout_seconds: timeoutSeconds.optional(),
  });

export const jobPayloadSchema = z
  .object({
    id: z.uuid().optional(),
    name: z.string({ error: required('name') }).min(1, 'name is required').max(limits.maxNameLength),
    metadata: metadataSchema.optional(),
    timestamp: z.string().max(64).optional(),
    priority: z.number().int().min(-1000).max(1000).default(defaultPriority),
    callback_url: z
      .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
      .max(2048)
      .optional(),
    timeout_seconds: timeoutSeconds.optional(),
    steps: z.array(stepSchema).min(1, 'a job needs at least one step').max(limits.maxSteps),
  });

export type JobPayload = z.infer<typeof jobPayloadSchema>;
export type StepPayload = z.infer<typeof stepSchema>;

export interface FieldError {
  path: string;
  message: string;
}

/**
 * Rules across fields, checked on the raw body so they are reported together with every other
 * problem (zod skips an object's refinements once one of its fields failed).
 */
export function crossFieldErrors(raw: unknown): FieldError[] {
  const errors: FieldError[] = [];
  // A metadata key `__proto__` cannot be held by a plain object: the parsed job would lose it
  // (and the step its env variable) in silence. Refused, naming it.
  const protoKey = (metadata: unknown, path: string) => {
    if (typeof metadata === 'object' && metadata !== null && Object.prototype.hasOwnProperty.call(metadata, '__proto__')) {
      errors.push({ path: `${path}.__proto__`, message: 'a metadata key must not be __proto__' });
    }
  };
  protoKey((raw as { metadata?: unknown } | null)?.metadata, 'metadata');
  const steps = (raw as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return errors;
  const seen = new Map<string, number>();
  steps.forEach((step: unknown, index) => {
    if (typeof step !== 'object' || step === null) return;
    protoKey((step as { metadata?: unknown }).metadata, `steps[${index}].metadata`);
    const { id, memory_limit: limit, memory_swap: swap } = step as Record<string, unknown>;
    if (typeof id === 'number' || typeof id === 'string') {
      const first = seen.get(String(id));
      if (first !== undefined) errors.push({ path: `steps[${index}].id`, message: `duplicate step id ${String(id)} (also steps[${first}])` });
      else seen.set(String(id), index);
    }
    if (swap !== undefined) {
      if (limit === undefined) errors.push({ path: `steps[${index}].memory_swap`, message: 'needs memory_limit' });
      else if (typeof limit === 'string' && typeof swap === 'string') {
        const l = parseMemory(limit);
        const w = parseMemory(swap);
        if (l !== undefined && w !== undefined && w < l) errors.push({ path: `steps[${index}].memory_swap`, message: 'must be at least memory_limit' });
      }
    }
  });
  return errors;
}

export type ParsedPayload = { ok: true; payload: JobPayload } | { ok: false; fields: FieldError[] };

/** Validates a job body: every bad field at once, or the payload with defaults applied. */
export interface ParseOptions {
  /** The networks a step may ask for (STEP_NETWORKS); absent: any valid name. */
  allowedNetworks?: readonly string[];
  /** The job must also be readable by the current Hades's scheduler (SUBMIT_FORMAT=reference). */
  currentHadesFormat?: boolean;
}

export function parseJobPayload(input: unknown, options: ParseOptions = {}): ParsedPayload {
  const raw = dropGoZeroValues(input);
  const result = jobPayloadSchema.safeParse(raw);
  const fields = [
    ...(result.success ? [] : fieldErrors(result.error)),
    ...crossFieldErrors(raw),
    ...(result.success && options.allowedNetworks ? networkErrors(result.data, options.allowedNetworks) : []),
    ...(result.success && options.currentHadesFormat ? currentHadesFormatErrors(result.data) : []),
  ];
  if (fields.length > 0 || !result.success) return { ok: false, fields };
  return { ok: true, payload: result.data };
}

/** Steps that ask for a network the operator has not allowed (`host` gives a step the host's). */
function networkErrors(payload: JobPayload, allowed: readonly string[]): FieldError[] {
  return payload.steps.flatMap((step, i) =>
    step.network === undefined || allowed.includes(step.network)
      ? []
      : [{ path: `steps[${i}].network`, message: `network "${step.network}" is not allowed here (allowed: ${allowed.join(', ')}); an operator allows more with STEP_NETWORKS` }],
  );
}

/** Every bad field of a zod error, with a dotted path (`steps[1].image`). */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.reduce<string>(
      (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
      '',
    ) || '(body)',
    message: issue.message,
  }));
}
