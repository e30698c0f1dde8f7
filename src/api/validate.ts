import type { z } from 'zod';
import { fieldErrors } from '../job';
import { ApiError } from './errors';

/** Parses with a route's schema, or throws the one 400 shape naming every bad field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, code: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = fieldErrors(result.error);
  throw new ApiError(400, code, fields.map((f) => `${f.path}: ${f.message}`).join('; '), fields);
}
