import { AckPolicy, DeliverPolicy, headers as natsHeaders, JSONCodec, RetentionPolicy, StorageType } from 'nats';
import type { JetStreamClient, JetStreamManager, KV, NatsConnection } from 'nats';
import type { JobPayload } from '../job';
import { priorityLevel } from '../job';
import type { QueueNames, QueueSettings } from './subjects';
import { ensureStream, isNotFound, jetStreamOptions, subjectCovers } from './streams';
import { payloadWriter } from './payloadBucket';
import type { PayloadWriter } from './payloadBucket';
import { ackedPublisher } from './pubAcks';
import { referenceBytes } from '../bridge/intake';
import { defaultQueueSettings, jobSubject, jobSubjects, redeliveryBackoffSeconds } from './subjects';

/** What the API remembers of a submission, so its id is never unknown before the workflow starts. */
export interface SubmissionRecord {
  id: string;
  name: string;
  priority: number;
  submittedAt: string;
  steps: { id: string; name: string; image: string }[];
  /** Cancelled before any bridge started it: the bridge must not start it. */
  cancelRequested?: boolean;
  /** Never started: the bridge moved it to the dead letters, for this reason. */
  rejected?: string;
}

export const submittedAtHeader = 'Hades-Submitted-At';

/** The job, as a queue message, is larger than the NATS server carries (its max_payload). */
export class JobTooLargeError extends Error {
  override name = 'JobTooLarge';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`the job is ${bytes} bytes as a queue message; the NATS server carries at most ${limit} bytes (its max_payload)`);
  }
}

/** Room left in a message for its headers (Nats-Msg-Id, the submission time) and framing. */
const HEADER_ROOM_BYTES = 512;
const codec = JSONCodec<unknown>();
const SUBMISSION_TTL_MS = 7 * 24 * 3600 * 1000;

/** Creates or updates the job stream and the bridge's durable consumer; safe to call from every process. */
export async function ensureJobQueue(jsm: JetStreamManager, names: QueueNames, settings: QueueSettings = defaultQueueSettings): Promise<void> {
  const config = {
    name: names.stream,
    subjects: jobSubjects(names),
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: settings.duplicateWindowSeconds * 1e9,
    num_replicas: settings.replicas ?? 1,
  };
  await ensureStream(jsm, config);
  // Redelivery is JetStream's: a message the bridge neither acked nor terminated comes back after
  // the backoff (the first value is also the ack wait), at most max_deliver times.
  const backoff = redeliveryBackoffSeconds(settings.retryMaxSeconds).map((s) => Math.round(s * 1e9));
  const redelivery = { ack_wait: backoff[0]!, backoff, max_deliver: Math.max(settings.maxDeliveries, backoff.length + 1) };
  try {
    const info = await jsm.consumers.info(names.stream, names.consumer);
    const same = info.config.max_deliver === redelivery.max_deliver && JSON.stringify(info.config.backoff ?? []) === JSON.stringify(backoff);
    if (!same) await jsm.consumers.update(names.stream, names.consumer, redelivery);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.consumers.add(names.stream, {
        durable_name: names.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...redelivery,
        filter_subjects: jobSubjects(names),
      });
    } catch (addErr) {
      throw await sharedQueueError(jsm, names, addErr);
    }
  }
}

/**
 * A work-queue stream hands each message to one consumer only, so JetStream refuses a second
 * consumer of the same subjects: say whose they are (the current Hades's scheduler makes
 * `HADES_JOBS_<priority>`) and what to do, rather than JetStream's terse refusal.
 */
/** Another scheduler's consumers hold the job subjects of the stream (a work queue). */
export class SharedQueueError extends Error {
  override name = 'SharedQueue';
}

async function sharedQueueError(jsm: JetStreamManager, names: QueueNames, err: unknown): Promise<Error> {
  const others: string[] = [];
  try {
    for await (const c of jsm.consumers.list(names.stream)) {
      if (c.name !== names.consumer && jobSubjects(names).some((s) => [c.config.filter_subject, ...(c.config.filter_subjects ?? [])].some((f) => f !== undefined && (subjectCovers(f, s) || subjectCovers(s, f))))) others.push(c.name);
    }
  } catch {
    return err instanceof Error ? err : new Error(String(err));
  }
  if (others.length === 0) return err instanceof Error ? err : new Error(String(err));
  return new SharedQueueError(
    `stream ${names.stream} is a work queue, and consumer${others.length === 1 ? '' : 's'} ${others.join(', ')} already take${others.length === 1 ? 's' : ''} its job subjects ` +
      `(HADES_JOBS_<priority> are the current Hades scheduler's): each job goes to one consumer only. Stop that scheduler and delete its consumers ` +
      `(nats consumer rm ${names.stream} <name>), or give this project a stream of its own (NATS_JOB_STREAM and NATS_JOB_SUBJECT_PREFIX). JetStream said: ${err instanceof Error ? err.message : String(err)}`,
  );
}


export async function submissionsKv(js: JetStreamClient, names: QueueNames, replicas = 1): Promise<KV> {
  return js.views.kv(names.submissionsBucket, { history: 1, ttl: SUBMISSION_TTL_MS, storage: StorageType.File, replicas });
}

/**
 * A job as the current Hades's scheduler reads it from its bucket: its id, an RFC 3339
 * timestamp and whole-number step ids (1, 2, … where the client gave none); this project's own
 * fields (priority, limits) ride along, and that scheduler ignores what it does not know.
 */
export function currentHadesPayload(id: string, payload: JobPayload, submittedAt: Date): JobPayload & { id: string; timestamp: string } {
  return {
    ...payload,
    id,
    timestamp: payload.timestamp ?? submittedAt.toISOString(),
    steps: payload.steps.map((step, i) => ({ ...step, id: step.id ?? i + 1 })),
  };
}

export interface JobQueue {
  /** How submissions are written (SUBMIT_FORMAT); `reference` jobs must suit the current Hades too. */
  readonly format: 'payload' | 'reference';
  /** Durably enqueues a validated job under `id`; resolves once JetStream stored it. */
  submit(id: string, payload: JobPayload, submittedAt: Date): Promise<void>;
  /** The submission record of a job the API accepted, if one is kept. */
  submission(id: string): Promise<SubmissionRecord | undefined>;
  /** Marks a submitted job as cancelled before its start; false when no record is kept. */
  requestCancel(id: string): Promise<boolean>;
  /**
   * Marks a job as never to be started (dead-lettered), so it is not Queued for good. A job this
   * API never recorded (enqueued by the current Hades's API, or straight on the stream) gets a
   * record made from `seen`, what the bridge could read of it, so its id says Failed and why.
   */
  markRejected(id: string, reason: string, seen?: Omit<SubmissionRecord, 'rejected' | 'cancelRequested'>): Promise<void>;
}

/**
 * `besideOtherScheduler`: a process that only submits (no bridge) may share the stream with
 * another scheduler's consumers (the current Hades's, SUBMIT_FORMAT=reference): told so, it goes
 * on without the bridge consumer instead of failing.
 */
export async function createJobQueue(nc: NatsConnection, names: QueueNames, settings: QueueSettings = defaultQueueSettings, besideOtherScheduler?: (reason: string) => void): Promise<JobQueue> {
  const jsm = await nc.jetstreamManager(jetStreamOptions);
  try {
    await ensureJobQueue(jsm, names, settings);
  } catch (err) {
    if (!(err instanceof SharedQueueError) || !besideOtherScheduler) throw err;
    besideOtherScheduler(err.message);
  }
  const js = nc.jetstream(jetStreamOptions);
  const kv = await submissionsKv(js, names, settings.replicas);
  const bucket: PayloadWriter | undefined = settings.submitFormat === 'reference' ? await payloadWriter(js, settings.payloadBucket ?? 'HADES_JOBS', settings.replicas) : undefined;
  const acks = ackedPublisher(nc, jetStreamOptions.timeout);
  const recordSubject = (id: string) => `$KV.${names.submissionsBucket}.${id}`;
  return {
    format: bucket ? 'reference' : 'payload',
    async submit(id, payload, submittedAt) {
      const record: SubmissionRecord = {
        id,
        name: payload.name,
        priority: payload.priority,
        submittedAt: submittedAt.toISOString(),
        steps: payload.steps.map((s, i) => ({ id: s.id === undefined ? String(i + 1) : String(s.id), name: s.name ?? `step ${i + 1}`, image: s.image })),
      };
      const data = codec.encode(bucket ? currentHadesPayload(id, payload, submittedAt) : { ...payload, id });
      const limit = nc.info?.max_payload;
      if (limit !== undefined && data.length + HEADER_ROOM_BYTES > limit) throw new JobTooLargeError(data.length, limit);
      // Record first: from the moment the publish is acknowledged, GET /jobs/{id} must know the id.
      // (A put of the bucket's key is a publish on its subject; the id is a valid key, see jobIdPattern.)
      await acks.publish(recordSubject(id), codec.encode(record));
      const h = natsHeaders();
      h.set(submittedAtHeader, record.submittedAt);
      try {
        // The current Hades's way: the payload in the bucket first, then only its id on the stream.
        if (bucket) await bucket.put(id, data);
        await acks.publish(jobSubject(names, priorityLevel(payload.priority)), bucket ? referenceBytes(id) : data, { msgID: id, headers: h });
      } catch (err) {
        // Not queued: no record may say it was, no payload wait for it (a client that retries writes them again).
        await Promise.all([kv.delete(id), bucket?.delete(id)].map((p) => p?.catch(() => undefined)));
        throw err;
      }
    },
    async submission(id) {
      const entry = await kv.get(id);
      if (!entry || entry.operation !== 'PUT') return undefined;
      return entry.json<SubmissionRecord>();
    },
    async requestCancel(id) {
      const entry = await kv.get(id);
      if (!entry || entry.operation !== 'PUT') return false;
      await kv.put(id, codec.encode({ ...entry.json<SubmissionRecord>(), cancelRequested: true }));
      return true;
    },
    async markRejected(id, reason, seen) {
      const entry = await kv.get(id);
      if (entry && entry.operation === 'PUT') return void (await kv.put(id, codec.encode({ ...entry.json<SubmissionRecord>(), rejected: reason })));
      if (!seen) return;
      try {
        await kv.create(id, codec.encode({ ...seen, rejected: reason }));
      } catch (err) {
        // Recorded meanwhile (the API's own submission of the same id): mark that record.
        const again = await kv.get(id);
        if (!again || again.operation !== 'PUT') throw err;
        await kv.put(id, codec.encode({ ...again.json<SubmissionRecord>(), rejected: reason }));
      }
    },
  };
}

export interface DeadLetters {
  stream: string;
  subject: string;
}

export function deadLetterNames(names: Pick<QueueNames, 'stream' | 'subjectPrefix'>): DeadLetters {
  return { stream: `${names.stream}_DEAD`, subject: `${names.subjectPrefix}-dead` };
}

/** The stream that keeps every submission that could never become a job, with its reason in headers. */
export async function ensureDeadLetters(jsm: JetStreamManager, names: QueueNames, replicas = 1): Promise<DeadLetters> {
  const dl = deadLetterNames(names);
  await ensureStream(jsm, { name: dl.stream, subjects: [dl.subject], storage: StorageType.File, max_age: 30 * 24 * 3600 * 1e9, num_replicas: replicas });
  return dl;
}

/** Job ids that were started: checked before a start, so a job runs at most once, ever. */
export interface StartedIds {
  has(id: string): Promise<boolean>;
  add(id: string): Promise<void>;
}

export async function startedIds(js: JetStreamClient, bucket: string, memoryDays: number, replicas = 1): Promise<StartedIds> {
  const kv = await js.views.kv(bucket, { history: 1, ttl: Math.round(memoryDays * 24 * 3600 * 1000), storage: StorageType.File, replicas });
  return {
    async has(id) {
      const entry = await kv.get(id);
      return entry !== null && entry.operation === 'PUT';
    },
    async add(id) {
      await kv.put(id, new Uint8Array([1]));
    },
  };
}
