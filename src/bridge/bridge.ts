import { headers as natsHeaders, millis } from 'nats';
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import { coerceError, StartRefusedError } from '../errors';
import type { JobSpec } from '../job';
import { defaultPriority, levelPriority } from '../job';
import { ensureDeadLetters, ensureJobQueue, submittedAtHeader } from '../queue/jobQueue';
import type { StartedIds, SubmissionRecord } from '../queue/jobQueue';
import type { QueueNames, QueueSettings } from '../queue/subjects';
import { subjectLevel } from '../queue/subjects';
import { jetStreamOptions } from '../queue/streams';
import type { PayloadReader } from '../queue/payloadBucket';
import type { StatusFeed } from '../queue/statusFeed';
import { jobReference, readSubmission, submissionTime } from './intake';

export interface BridgeDeps {
  nc: NatsConnection;
  names: QueueNames;
  /**
   * Starts the job's workflow; a job that exists already must resolve (no-op), not throw.
   * `cancelled`: the job was cancelled before it started, and never will.
   */
  startJob(spec: JobSpec): Promise<'started' | 'cancelled'>;
  /** Whether the job's workflow exists (asked before saying Queued again on a redelivery). */
  jobExists?(id: string): Promise<boolean>;
  /** Where Queued (and the end of a job that never starts) is said. */
  statusFeed?: StatusFeed;
  /** The current Hades's job bucket, which a submission that is only a job id refers to. */
  payloads?: PayloadReader;
  log: { info(msg: string, data?: object): void; warn(msg: string, data?: object): void; error(msg: string, data?: object): void };
  /** Messages handled at once. */
  parallel?: number;
  settings?: QueueSettings;
  /** Job ids started before: a message for one of them starts nothing. */
  started?: StartedIds;
  /** A job the bridge dead-letters is marked so (its submission record), never Queued for good. */
  markRejected?: (id: string, reason: string, seen: Omit<SubmissionRecord, 'rejected' | 'cancelRequested'>) => Promise<void>;
  /** The networks a step may ask for (STEP_NETWORKS); a job asking for another is a dead letter. */
  allowedNetworks?: readonly string[];
  /**
   * Called when the consumer could not be made again this many times in a row (default 20, some
   * 10 minutes): the bridge stops trying, and the process should end so a supervisor restarts it.
   */
  onGiveUp?: (reason: string) => void;
  giveUpAfter?: number;
  /** Tests only: die between the start and the ack, as a crash would; or start slowly. */
  fault?: 'bridge-crash-after-start' | 'bridge-slow-start';
}

export interface Bridge {
  stop(): Promise<void>;
}

/** A stand-in that yields nothing, so the loop waits and tries again. */
function emptyMessages(): ConsumerMessages {
  const none = { stop: () => undefined, [Symbol.asyncIterator]: async function* () {} };
  return none as unknown as ConsumerMessages;
}

/** The pause before the consume loop tries again after its consumer went away: grows, capped. */
function resumeDelayMs(failures: number): number {
  return Math.min(30_000, 500 * 2 ** Math.min(10, failures - 1));
}

/**
 * A reference whose payload is not in the bucket is delivered this many times before it is a
 * dead letter: a bucket replica may lag the stream by a moment.
 */
const MISSING_PAYLOAD_DELIVERIES = 3;

/** While a message is in hand, JetStream is told so this often (its first redelivery waits 2 s or more). */
const WORKING_INTERVAL_MS = 500;

/**
 * The durable consumer that turns submissions into workflow starts. It acks a message only after
 * Temporal accepted the start, so a crash in between redelivers it, and workflow id = job id makes
 * that redelivery start nothing new. A start that fails is neither acked nor nak'd: JetStream
 * hands the message out again after the consumer's backoff, up to its max_deliver; on the last
 * delivery a failing start goes to the dead letters with its reason.
 */
export async function startBridge(deps: BridgeDeps): Promise<Bridge> {
  const jsm = await deps.nc.jetstreamManager(jetStreamOptions);
  await ensureJobQueue(jsm, deps.names, deps.settings);
  const deadLetters = await ensureDeadLetters(jsm, deps.names, deps.settings?.replicas);
  const js = deps.nc.jetstream(jetStreamOptions);
  const parallel = deps.parallel ?? 8;
  let maxDeliver = -1;
  const consume = async (): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(deps.names.stream, deps.names.consumer);
    // The consumer's own limit (an operator may have changed it with `nats consumer edit`).
    maxDeliver = (await consumer.info(true)).config.max_deliver ?? -1;
    // A deleted consumer or stream ends the iteration (by default nats.js pulls on in silence).
    return consumer.consume({ max_messages: parallel, abort_on_missing_resource: true });
  };
  let messages: ConsumerMessages = await consume();
  const inFlight = new Set<Promise<void>>();

  /** Never silently dropped: the message and its reason go to the dead-letter stream first. */
  async function deadLetter(msg: JsMsg, reason: string, jobId?: string, spec?: JobSpec): Promise<void> {
    const h = natsHeaders();
    h.set('Hades-Reason', reason.slice(0, 1000).replace(/[\r\n]/g, ' '));
    h.set('Hades-Original-Subject', msg.subject);
    h.set('Hades-Original-Sequence', String(msg.info.streamSequence));
    try {
      await js.publish(deadLetters.subject, msg.data, { headers: h });
      if (jobId !== undefined) {
        await deps.markRejected?.(jobId, reason, spec ? submissionRecordOf(spec) : unreadable(msg, jobId));
        await deps.statusFeed?.publish({ jobId, status: 'Failed', reason: `never started: ${reason}`, at: new Date().toISOString() });
      }
    } catch (err) {
      // Left unacked: JetStream hands it out again after the backoff.
      deps.log.error('dead-letter publish failed; will retry', { error: coerceError(err).message });
      return;
    }
    deps.log.warn('submission rejected to dead letters', { reason, seq: msg.info.streamSequence, ...(jobId !== undefined && { job: jobId }) });
    msg.term(reason.slice(0, 200));
  }

  /** The job a message holds: itself, or the payload its id reference points to (undefined: left for a redelivery). */
  async function jobData(msg: JsMsg): Promise<{ data: Uint8Array; msgId?: string; reference: boolean } | { missing: string } | undefined> {
    const msgId = msg.headers?.get('Nats-Msg-Id');
    const ref = jobReference(msg.data);
    if (ref === undefined) return { data: msg.data, ...(msgId && { msgId }), reference: false };
    if (!deps.payloads) return { missing: `job ${ref} is an id reference, and this bridge reads no job bucket` };
    const data = await deps.payloads.get(ref);
    if (data) return { data, msgId: ref, reference: true };
    if (msg.info.deliveryCount < MISSING_PAYLOAD_DELIVERIES) return undefined;
    return { missing: `job ${ref} is an id reference, and bucket ${deps.payloads.name} holds no payload under that id` };
  }

  async function handle(msg: JsMsg): Promise<void> {
    let found;
    try {
      found = await jobData(msg);
    } catch (err) {
      deps.log.warn('job bucket read failed; JetStream redelivers the message after its backoff', { error: coerceError(err).message });
      return;
    }
    if (found === undefined) return;
    if ('missing' in found) return deadLetter(msg, found.missing, jobReference(msg.data));
    const level = subjectLevel(msg.subject);
    const intake = readSubmission({
      data: found.data,
      ...(found.msgId && { msgId: found.msgId }),
      ...(msg.headers?.get(submittedAtHeader) && { submittedAtHeader: msg.headers.get(submittedAtHeader) }),
      stream: msg.info.stream,
      streamSequence: msg.info.streamSequence,
      timestampMs: millis(msg.info.timestampNanos),
      ...(level && { subjectLevel: level }),
    }, deps.allowedNetworks ? { allowedNetworks: deps.allowedNetworks } : {});
    if (!intake.ok) return deadLetter(msg, intake.reason, intake.jobId);
    const id = intake.spec.id;
    // Told every half second that the start is still in hand, JetStream does not hand it to
    // another bridge meanwhile (a slow Temporal); a bridge that dies stops telling.
    const working = setInterval(() => msg.working(), WORKING_INTERVAL_MS);
    try {
      if (deps.started && (await deps.started.has(id))) {
        deps.log.info('job was started before; not starting it again', { job: id, delivery: msg.info.deliveryCount });
      } else {
        // Queued before the start, so it comes before Running. A redelivery says it again only
        // if the job has no workflow yet (an earlier delivery may have started it, then died).
        // The current Hades's API says Queued itself when it enqueues a reference: not twice.
        const redelivered = msg.info.deliveryCount > 1;
        const saidByHadesApi = found.reference && !msg.headers?.get(submittedAtHeader);
        if (deps.statusFeed && !saidByHadesApi && !(redelivered && (await deps.jobExists?.(id)))) {
          await deps.statusFeed.publish({ jobId: id, status: 'Queued', at: intake.spec.submittedAt });
        }
        if (deps.fault === 'bridge-slow-start') await new Promise((r) => setTimeout(r, 1000));
        const outcome = await deps.startJob(intake.spec);
        if (deps.fault === 'bridge-crash-after-start') process.kill(process.pid, 'SIGKILL');
        await deps.started?.add(id);
        if (outcome === 'cancelled') await deps.statusFeed?.publish({ jobId: id, status: 'Cancelled', reason: 'job was cancelled before it started', at: new Date().toISOString() });
      }
      await msg.ackAck();
    } catch (err) {
      clearInterval(working);
      const error = coerceError(err).message;
      if (err instanceof StartRefusedError) return deadLetter(msg, `refused by Temporal: ${error}`, id, intake.spec);
      const delivery = msg.info.deliveryCount;
      if (maxDeliver > 0 && delivery >= maxDeliver) return deadLetter(msg, `not started after ${delivery} deliveries (the consumer's max_deliver): ${error}`, id, intake.spec);
      // Neither acked nor nak'd: JetStream hands it out again after the consumer's backoff.
      deps.log.warn('workflow start failed; JetStream redelivers the message after its backoff', { job: id, error, delivery, maxDeliver });
    } finally {
      clearInterval(working);
    }
  }

  let stopping = false;
  let wake = () => undefined as void;
  const drain = async (current: ConsumerMessages) => {
    for await (const msg of current) {
      // Stopping: what was pulled but not begun goes back at once, for another replica.
      if (stopping) {
        msg.nak();
        continue;
      }
      const p = handle(msg).catch((err: unknown) => deps.log.error('bridge handler failed', { error: coerceError(err).message }));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= parallel) await Promise.race(inFlight);
    }
  };
  // The consumer can stop delivering (deleted, its stream recreated, a lost heartbeat): that is
  // logged, and the queue and consumer are made again and consumed, with a growing pause.
  const loop = (async () => {
    let failures = 0;
    let failedResumes = 0;
    for (;;) {
      let reason = 'the consumer stopped delivering';
      try {
        await drain(messages);
      } catch (err) {
        reason = coerceError(err).message;
      }
      if (stopping) return;
      const delay = resumeDelayMs(++failures);
      deps.log.error('the job consumer ended; consuming again', { reason, retryInMs: delay });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopping) return;
      try {
        await ensureJobQueue(jsm, deps.names, deps.settings);
        messages = await consume();
        failures = 0;
        failedResumes = 0;
      } catch (err) {
        const error = coerceError(err).message;
        if (++failedResumes >= (deps.giveUpAfter ?? 20)) {
          deps.log.error('the job consumer could not be made again; giving up', { error, attempts: failedResumes });
          deps.onGiveUp?.(`the bridge could not consume jobs ${failedResumes} times in a row: ${error}`);
          return;
        }
        deps.log.error('consuming again failed; will retry', { error });
        messages = emptyMessages();
      }
    }
  })();

  return {
    /** Stops consuming, finishes the starts in hand and gives back what it had not begun. */
    async stop() {
      stopping = true;
      messages.stop();
      wake();
      await loop.catch(() => undefined);
      await Promise.allSettled(inFlight);
    },
  };
}

type SeenJob = Omit<SubmissionRecord, 'rejected' | 'cancelRequested'>;

/** What a job the bridge read, but could not start, comes to as a submission record. */
function submissionRecordOf(spec: JobSpec): SeenJob {
  return { id: spec.id, name: spec.name, priority: spec.priority, submittedAt: spec.submittedAt, steps: spec.steps.map((s) => ({ id: s.id, name: s.name, image: s.image })) };
}

/** A job the bridge could not read: its id, its subject's priority, the time JetStream took it. */
function unreadable(msg: JsMsg, id: string): SeenJob {
  const level = subjectLevel(msg.subject);
  const header = msg.headers?.get(submittedAtHeader);
  const submittedAt = submissionTime({ ...(header && { submittedAtHeader: header }), timestampMs: millis(msg.info.timestampNanos) });
  return { id, name: '', priority: level ? levelPriority[level] : defaultPriority, submittedAt: submittedAt.toISOString(), steps: [] };
}
