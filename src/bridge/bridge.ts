import { headers as natsHeaders, millis } from 'nats';
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import { coerceError, StartRefusedError } from '../errors';
import type { JobSpec } from '../job';
import { ensureDeadLetters, ensureJobQueue, submittedAtHeader } from '../queue/jobQueue';
import type { StartedIds } from '../queue/jobQueue';
import type { QueueNames, QueueSettings } from '../queue/subjects';
import { jetStreamOptions } from '../queue/streams';
import { readSubmission } from './intake';

export interface BridgeDeps {
  nc: NatsConnection;
  names: QueueNames;
  /** Starts the job's workflow; a job that exists already must resolve (no-op), not throw. */
  startJob(spec: JobSpec): Promise<void>;
  log: { info(msg: string, data?: object): void; warn(msg: string, data?: object): void; error(msg: string, data?: object): void };
  /** Messages handled at once. */
  parallel?: number;
  settings?: QueueSettings;
  /** Job ids started before: a message for one of them starts nothing. */
  started?: StartedIds;
  retryMaxMs?: number;
  /** The networks a step may ask for (STEP_NETWORKS); a job asking for another is a dead letter. */
  allowedNetworks?: readonly string[];
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

/** Redelivery delay after a failed start (Temporal unreachable): grows with each delivery, capped. */
export function retryDelayMs(deliveryCount: number, maxMs = 30_000): number {
  return Math.min(maxMs, 500 * 2 ** Math.max(0, Math.min(30, deliveryCount - 1)));
}

/**
 * The durable consumer that turns submissions into workflow starts. It acks a message only after
 * Temporal accepted the start, so a crash in between redelivers it, and workflow id = job id makes
 * that redelivery start nothing new.
 */
export async function startBridge(deps: BridgeDeps): Promise<Bridge> {
  const jsm = await deps.nc.jetstreamManager(jetStreamOptions);
  await ensureJobQueue(jsm, deps.names, deps.settings);
  const retry = (count: number) => retryDelayMs(count, deps.retryMaxMs);
  const deadLetters = await ensureDeadLetters(jsm, deps.names, deps.settings?.replicas);
  const js = deps.nc.jetstream(jetStreamOptions);
  const parallel = deps.parallel ?? 8;
  const consume = async (): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(deps.names.stream, deps.names.consumer);
    // A deleted consumer or stream ends the iteration (by default nats.js pulls on in silence).
    return consumer.consume({ max_messages: parallel, abort_on_missing_resource: true });
  };
  let messages: ConsumerMessages = await consume();
  const inFlight = new Set<Promise<void>>();

  /** Never silently dropped: the message and its reason go to the dead-letter stream first. */
  async function deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const h = natsHeaders();
    h.set('Hades-Reason', reason.slice(0, 1000).replace(/[\r\n]/g, ' '));
    h.set('Hades-Original-Subject', msg.subject);
    h.set('Hades-Original-Sequence', String(msg.info.streamSequence));
    try {
      await js.publish(deadLetters.subject, msg.data, { headers: h });
    } catch (err) {
      deps.log.error('dead-letter publish failed; will retry', { error: coerceError(err).message });
      msg.nak(retry(msg.info.deliveryCount));
      return;
    }
    deps.log.warn('submission rejected to dead letters', { reason, seq: msg.info.streamSequence });
    msg.term(reason.slice(0, 200));
  }

  async function handle(msg: JsMsg): Promise<void> {
    const intake = readSubmission({
      data: msg.data,
      ...(msg.headers?.get('Nats-Msg-Id') && { msgId: msg.headers.get('Nats-Msg-Id') }),
      ...(msg.headers?.get(submittedAtHeader) && { submittedAtHeader: msg.headers.get(submittedAtHeader) }),
      stream: msg.info.stream,
      streamSequence: msg.info.streamSequence,
      timestampMs: millis(msg.info.timestampNanos),
    }, deps.allowedNetworks ? { allowedNetworks: deps.allowedNetworks } : {});
    if (!intake.ok) return deadLetter(msg, intake.reason);
    const id = intake.spec.id;
    try {
      if (deps.started && (await deps.started.has(id))) {
        deps.log.info('job was started before; not starting it again', { job: id, delivery: msg.info.deliveryCount });
      } else {
        if (deps.fault === 'bridge-slow-start') await new Promise((r) => setTimeout(r, 1000));
        await deps.startJob(intake.spec);
        if (deps.fault === 'bridge-crash-after-start') process.kill(process.pid, 'SIGKILL');
        await deps.started?.add(id);
      }
      await msg.ackAck();
    } catch (err) {
      if (err instanceof StartRefusedError) return deadLetter(msg, `refused by Temporal: ${err.message}`);
      deps.log.warn('workflow start failed; message will be redelivered', { job: id, error: coerceError(err).message, delivery: msg.info.deliveryCount });
      msg.nak(retry(msg.info.deliveryCount));
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
    for (;;) {
      let reason = 'the consumer stopped delivering';
      try {
        await drain(messages);
      } catch (err) {
        reason = coerceError(err).message;
      }
      if (stopping) return;
      const delay = retryDelayMs(++failures, deps.retryMaxMs);
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
      } catch (err) {
        deps.log.error('consuming again failed; will retry', { error: coerceError(err).message });
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
