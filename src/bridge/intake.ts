import { jobIdPattern, parseJobPayload, toJobSpec } from '../job';
import type { JobSpec, ParseOptions } from '../job';

// Turning a queue message into a job: pure, so every way a message can be bad is unit-testable.

export interface IntakeMessage {
  data: Uint8Array;
  msgId?: string;
  submittedAtHeader?: string;
  stream: string;
  streamSequence: number;
  timestampMs: number;
}

export type Intake = { ok: true; spec: JobSpec } | { ok: false; reason: string; jobId?: string };

export function readSubmission(msg: IntakeMessage, options: ParseOptions = {}): Intake {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(msg.data).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = parseJobPayload(body, options);
  if (!parsed.ok) {
    return { ok: false, reason: `invalid job: ${parsed.fields.map((f) => `${f.path}: ${f.message}`).join('; ')}` };
  }
  // Header, then body, then one derived from the stream position: stable across redeliveries.
  const id = msg.msgId ?? parsed.payload.id ?? `${msg.stream.toLowerCase()}-${msg.streamSequence}`;
  if (!jobIdPattern.test(id)) return { ok: false, reason: `job id "${id}" is not valid (letters, digits, _ . -, at most 128; no dot at the end or twice in a row)` };
  const submitted = msg.submittedAtHeader ? new Date(msg.submittedAtHeader) : new Date(msg.timestampMs);
  const submittedAt = Number.isNaN(submitted.getTime()) ? new Date(msg.timestampMs) : submitted;
  return { ok: true, spec: toJobSpec(parsed.payload, id, submittedAt) };
}
