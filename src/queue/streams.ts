import type { JetStreamManager, StreamConfig } from 'nats';
import { statusCodeOf } from '../errors';

/**
 * How long a JetStream API call may take. nats.js waits 5 s by default, which a replicated
 * (R3) stream or bucket being created while several processes start can exceed.
 */
export const jetStreamOptions = { timeout: 20_000 } as const;

/** JetStream's "no such stream / consumer / message" in any of the shapes nats.js reports it. */
export function isNotFound(err: unknown): boolean {
  const code = (err as { api_error?: { code?: number } } | undefined)?.api_error?.code ?? statusCodeOf(err);
  return code === 404 || (err instanceof Error && /not found/i.test(err.message));
}

/** The metadata key that marks a stream as made (and so kept up to date) by this project. */
export const managedByKey = 'hades.managed-by';
export const managedByValue = 'hades-temporal';

/** Whether NATS subject pattern `pattern` takes every subject `subject` stands for (wildcards in `subject` are literal). */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i]!;
    if (token === '>') return s.length > i;
    const other = s[i];
    if (other === undefined) return false;
    if (token === '*') {
      if (other === '>') return false;
      continue;
    }
    if (token !== other) return false;
  }
  return p.length === s.length;
}

/** What to do with a stream that exists: bring it to our config, leave it, or refuse to share it. */
export type StreamVerdict = { action: 'update' } | { action: 'keep' } | { action: 'refuse'; reason: string };

/**
 * A stream is ours when it carries our marker, or when its subjects are exactly ours (made by
 * this project before it marked its streams). Any other stream belongs to someone else (the
 * current Hades creates `HADES_JOBS` and `HADES_JOB_LOGS` with its own settings on every
 * start): we never change it, so the two never undo each other; it must take our subjects.
 */
export function streamVerdict(existing: Pick<StreamConfig, 'subjects' | 'metadata'>, wanted: { name: string; subjects?: string[] }, needs: readonly string[]): StreamVerdict {
  if (existing.metadata?.[managedByKey] === managedByValue) return { action: 'update' };
  const theirs = existing.subjects ?? [];
  const ours = wanted.subjects ?? [];
  if (theirs.length === ours.length && ours.every((s) => theirs.includes(s))) return { action: 'update' };
  const missing = needs.filter((s) => !theirs.some((p) => subjectCovers(p, s)));
  if (missing.length === 0) return { action: 'keep' };
  return {
    action: 'refuse',
    reason: `stream ${wanted.name} exists, was not made by Hades on Temporal (its subjects: ${theirs.join(', ') || 'none'}), and does not take ${missing.join(', ')}; give this project streams of its own (NATS_JOB_STREAM, NATS_LOG_STREAM) or subjects that stream takes`,
  };
}

export class ForeignStreamError extends Error {
  override name = 'ForeignStream';
}

/**
 * Creates a stream, or brings an existing one of ours to `config`; safe to call from every
 * process at start. A stream someone else made is used as it is (see streamVerdict); `needs` are
 * the subjects we publish on, which it must take (default: `config.subjects`).
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, needs: readonly string[] = config.subjects ?? []): Promise<'created' | 'updated' | 'foreign'> {
  const marked = { ...config, metadata: { ...config.metadata, [managedByKey]: managedByValue } };
  let existing;
  try {
    existing = await jsm.streams.info(config.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(marked);
    return 'created';
  }
  const verdict = streamVerdict(existing.config, config, needs);
  if (verdict.action === 'refuse') throw new ForeignStreamError(verdict.reason);
  if (verdict.action === 'keep') return 'foreign';
  await jsm.streams.update(config.name, marked);
  return 'updated';
}
