import type { FieldError, JobPayload } from './schema';

// The current Hades is written in Go, and so are many of its clients: they send every field of
// its structs, an unset one as its zero value (`null` maps, `0`, `""`). There such a value means
// "not set" (no limit, no timeout, no callback), and it means the same here.

const jobZeroes: Record<string, readonly unknown[]> = {
  metadata: [null],
  callback_url: [''],
  timeout_seconds: [0],
  timestamp: ['', '0001-01-01T00:00:00Z'],
};

const stepZeroes: Record<string, readonly unknown[]> = {
  metadata: [null],
  script: [null],
  cpu_limit: [0],
  memory_limit: [''],
  memory_swap: [''],
  pids_limit: [0],
  network: [''],
  timeout_seconds: [0],
  continue_on_error: [null],
};

function withoutZeroes(value: Record<string, unknown>, zeroes: Record<string, readonly unknown[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (Object.prototype.hasOwnProperty.call(zeroes, key) && zeroes[key]!.includes(v)) continue;
    // Assigned as an own property: a key `__proto__` stays a key (and is refused by its rule).
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body with a Go client's zero values dropped, so they read as absent. */
export function dropGoZeroValues(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const job = withoutZeroes(raw, jobZeroes);
  if (Array.isArray(job.steps)) job.steps = job.steps.map((step: unknown) => (isObject(step) ? withoutZeroes(step, stepZeroes) : step));
  return job;
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * What the current Hades's scheduler could not read (SUBMIT_FORMAT=reference writes jobs for
 * it): its step ids and CPU limits are whole numbers, its timestamp an RFC 3339 time.
 */
export function currentHadesFormatErrors(payload: JobPayload): FieldError[] {
  const errors: FieldError[] = [];
  if (payload.timestamp !== undefined && !rfc3339.test(payload.timestamp)) {
    errors.push({ path: 'timestamp', message: 'must be an RFC 3339 time such as 2026-01-01T00:00:00Z (the current Hades reads it so)' });
  }
  payload.steps.forEach((step, i) => {
    if (step.id !== undefined && typeof step.id !== 'number') errors.push({ path: `steps[${i}].id`, message: 'must be a number (the current Hades reads step ids as integers)' });
    if (step.cpu_limit !== undefined && !Number.isInteger(step.cpu_limit)) errors.push({ path: `steps[${i}].cpu_limit`, message: 'must be a whole number of cores (the current Hades reads it so)' });
  });
  return errors;
}
