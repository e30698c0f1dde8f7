import { jobIdPattern, levelPriority, parseJobPayload, toJobSpec } from '../job';
import type { JobSpec, ParseOptions, PriorityLevel } from '../job';

// Turning a queue message into a job: pure, so every way a message can be bad is unit-testable.

export interface IntakeMessage {
  data: Uint8Array;
  msgId?: string;
  submittedAtHeader?: string;
  stream: string;
  streamSequence: number;
  timestampMs: number;
  /** The priority its subject names (`<prefix>.high`): a payload without `priority` takes it. */
  subjectLevel?: PriorityLevel;
}

export type Intake = { ok: true; spec: JobSpec } | { ok: false; reason: string; jobId?: string };

const uuidText = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The job id a message refers to, when the message is the current Hades's reference rather than
 * a job: the 16 raw bytes of a UUID, or its 36-character text. Its payload is in the job bucket.
 */
export function jobReference(data: Uint8Array): string | undefined {
  // Sixteen bytes of text are text (a broken job, say): a UUID's bytes never are, its variant
  // byte (the ninth) has the high bit set.
  if (data.length === 16 && !data.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d)) {
    const hex = Buffer.from(data).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  if (data.length === 36) {
    const text = Buffer.from(data).toString('latin1');
    if (uuidText.test(text)) return text.toLowerCase();
  }
  return undefined;
}

/** The 16 raw bytes of a UUID, as the current Hades publishes a job reference. */
export function referenceBytes(uuid: string): Uint8Array {
  if (!uuidText.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function readSubmission(msg: IntakeMessage, options: ParseOptions = {}): Intake {
  const knownId = msg.msgId !== undefined && jobIdPattern.test(msg.msgId) ? { jobId: msg.msgId } : {};
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(msg.data).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}`, ...knownId };
  }
  // The current Hades puts a job's priority in its subject only.
  if (msg.subjectLevel && typeof body === 'object' && body !== null && !Array.isArray(body) && !('priority' in body)) {
    body = { ...body, priority: levelPriority[msg.subjectLevel] };
  }
  const parsed = parseJobPayload(body, options);
  if (!parsed.ok) {
    return { ok: false, reason: `invalid job: ${parsed.fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`, ...knownId };
  }
  // Header, then body, then one derived from the stream position: stable across redeliveries.
  const id = msg.msgId ?? parsed.payload.id ?? `${msg.stream.toLowerCase()}-${msg.streamSequence}`;
  if (!jobIdPattern.test(id)) return { ok: false, reason: `job id "${id}" is not valid (letters, digits, _ . -, at most 128; no dot at the end or twice in a row)` };
  return { ok: true, spec: toJobSpec(parsed.payload, id, submissionTime(msg)) };
}

/** When a message's job was submitted: its submission header if it is a time, else when JetStream stored it. */
export function submissionTime(msg: Pick<IntakeMessage, 'submittedAtHeader' | 'timestampMs'>): Date {
  const submitted = msg.submittedAtHeader ? new Date(msg.submittedAtHeader) : new Date(msg.timestampMs);
  return Number.isNaN(submitted.getTime()) ? new Date(msg.timestampMs) : submitted;
}
