import { z } from 'zod';
import { parseMemory } from './limits';
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

const memoryString = z
  .string()
  .refine((s) => parseMemory(s) !== undefined, { message: 'not a memory size such as 512M or 2G' })
  .refine((s) => (parseMemory(s) ?? 0) >= 6 * 1024 * 1024, { message: 'must be at least 6M (Docker minimum)' });

// Docker network names: `none`, `bridge`, `host`, `default`, or a user network name.
const networkName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'not a valid network name');

const timeoutSeconds = z.number().int().positive().max(limits.maxTimeoutSeconds);

const imageRef = z
  .string()
  .min(1, 'image is required')
  .max(512)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/, 'not a valid image reference');

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
  })
  .superRefine((step, ctx) => {
    if (step.memory_swap !== undefined) {
      if (step.memory_limit === undefined) {
        ctx.addIssue({ code: 'custom', path: ['memory_swap'], message: 'needs memory_limit' });
      } else if ((parseMemory(step.memory_swap) ?? 0) < (parseMemory(step.memory_limit) ?? 0)) {
        ctx.addIssue({ code: 'custom', path: ['memory_swap'], message: 'must be at least memory_limit' });
      }
    }
  });

export const jobPayloadSchema = z
  .object({
    id: z.uuid().optional(),
    name: z.string().min(1, 'name is required').max(limits.maxNameLength),
    metadata: metadataSchema.optional(),
    timestamp: z.string().max(64).optional(),
    priority: z.number().int().min(-1000).max(1000).default(defaultPriority),
    callback_url: z
      .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
      .max(2048)
      .optional(),
    timeout_seconds: timeoutSeconds.optional(),
    steps: z.array(stepSchema).min(1, 'a job needs at least one step').max(limits.maxSteps),
  })
  .superRefine((job, ctx) => {
    const seen = new Map<string, number>();
    job.steps.forEach((step, index) => {
      if (step.id === undefined) return;
      const key = String(step.id);
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `duplicate step id ${key} (also steps[${first}])` });
      } else {
        seen.set(key, index);
      }
    });
  });

export type JobPayload = z.infer<typeof jobPayloadSchema>;
export type StepPayload = z.infer<typeof stepSchema>;

export interface FieldError {
  path: string;
  message: string;
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
