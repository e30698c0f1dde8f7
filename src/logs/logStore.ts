import { DiscardPolicy, JSONCodec, RetentionPolicy, StorageType } from 'nats';
import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import { ensureStream, isNotFound, jetStreamOptions } from '../queue/streams';
import type { LogBatch, LogNames } from './types';
import { fromWire, toWire } from './logWire';
import { logSubject } from './types';

const codec = JSONCodec<Parameters<typeof fromWire>[0]>();

export interface LogRetention {
  maxAgeHours: number;
  maxBytes: number;
  /** Copies of the stream on a NATS cluster (default 1). */
  replicas?: number;
}

/** Creates or updates the log stream: limits retention, oldest dropped first. */
export async function ensureLogStream(jsm: JetStreamManager, names: LogNames, retention: LogRetention): Promise<void> {
  const config = {
    name: names.stream,
    subjects: [`${names.subjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: Math.round(retention.maxAgeHours * 3600 * 1e9),
    max_bytes: retention.maxBytes,
    num_replicas: retention.replicas ?? 1,
  };
  // A stream the current Hades made (`hades.logs.*`) takes every job id without a dot: used as it is.
  await ensureStream(jsm, config, [`${names.subjectPrefix}.*`]);
}

/** Reads and writes step logs on JetStream; any number of processes can share it. */
export interface LogStore {
  publish(batch: LogBatch): Promise<void>;
  /** The last batch of a job, to resume a re-attached step after it. */
  lastBatch(jobId: string): Promise<LogBatch | undefined>;
  /** Every batch of a job so far, in order, one at a time (a page of them read at once). */
  eachBatch(jobId: string): AsyncGenerator<LogBatch>;
  /** Batches as they are written, from the first; ends when `signal` aborts. */
  follow(jobId: string, signal: AbortSignal): AsyncGenerator<{ batch: LogBatch; caughtUp: boolean }>;
}

/** Batches pulled from NATS at once by a reader of a job's log. */
const logPage = 64;

export async function createLogStore(nc: NatsConnection, names: LogNames, retention: LogRetention): Promise<LogStore> {
  const jsm = await nc.jetstreamManager(jetStreamOptions);
  await ensureLogStream(jsm, names, retention);
  const js: JetStreamClient = nc.jetstream(jetStreamOptions);

  async function orderedConsumer(jobId: string) {
    // Delivers from the first message by default; naming deliver_policy here stalls nats.js 2.29.
    return js.consumers.get(names.stream, { filterSubjects: [logSubject(names, jobId)] });
  }

  /**
   * The job's batches, a page at a time: a page is taken off the consumer whole before any of it
   * is handed on, so a slow reader (a slow HTTP client) holds back the next pull and no more than
   * a page waits in memory. Taking it whole also matters for correctness: nats.js drops what an
   * ordered consumer's fetch still buffers when the fetch ends while its reader is away.
   * `live`: once caught up, waits for new batches (one long poll at a time) until `signal`.
   */
  async function* pages(jobId: string, live: { signal: AbortSignal } | undefined): AsyncGenerator<{ batch: LogBatch; caughtUp: boolean }> {
    const subject = logSubject(names, jobId);
    // How many there are now, so the first pull asks for no more than exist (a pull for more
    // waits until it expires) and a finished job with none needs no consumer.
    const info = await jsm.streams.info(names.stream, { subjects_filter: subject });
    let pending = info.state.subjects?.[subject] ?? 0;
    if (pending === 0 && !live) return;
    const consumer = await orderedConsumer(jobId);
    while (!live?.signal.aborted) {
      if (pending === 0 && !live) return;
      const messages = await consumer.fetch(pending > 0 ? { max_messages: Math.min(logPage, pending), expires: 10_000 } : { max_messages: 1, expires: 5_000 });
      const stop = () => messages.stop();
      live?.signal.addEventListener('abort', stop, { once: true });
      if (live?.signal.aborted) stop();
      const page: LogBatch[] = [];
      let got = 0;
      try {
        for await (const msg of messages) {
          page.push(fromWire(codec.decode(msg.data)));
          pending = msg.info.pending;
          got++;
        }
      } finally {
        live?.signal.removeEventListener('abort', stop);
      }
      // A pull that expired with less than asked: the rest went away (retention); caught up.
      if (got === 0) pending = 0;
      for (const [i, batch] of page.entries()) yield { batch, caughtUp: pending === 0 && i === page.length - 1 };
    }
  }

  async function* eachBatch(jobId: string): AsyncGenerator<LogBatch> {
    for await (const { batch } of pages(jobId, undefined)) yield batch;
  }

  return {
    async publish(batch) {
      await js.publish(logSubject(names, batch.jobId), codec.encode(toWire(batch)), { timeout: 10_000 });
    },

    async lastBatch(jobId) {
      try {
        const msg = await jsm.streams.getMessage(names.stream, { last_by_subj: logSubject(names, jobId) });
        return fromWire(codec.decode(msg.data));
      } catch (err) {
        if (isNotFound(err) || /no message found/i.test((err as Error).message)) return undefined;
        throw err;
      }
    },

    eachBatch,

    follow(jobId, signal) {
      return pages(jobId, { signal });
    },
  };
}

