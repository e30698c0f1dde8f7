import { connect, headers as natsHeaders } from 'nats';
import type { NatsConnection, PubAck } from 'nats';
import type { Config } from '../../src/config';

export async function withNats<T>(url: string, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/** Publishes a job straight to JetStream, as another system would. */
export async function publishJob(config: Config, body: unknown, options: { msgId?: string; level?: 'high' | 'medium' | 'low'; raw?: string } = {}): Promise<PubAck> {
  return withNats(config.NATS_URL, async (nc) => {
    const h = natsHeaders();
    if (options.msgId) h.set('Nats-Msg-Id', options.msgId);
    const data = new TextEncoder().encode(options.raw ?? JSON.stringify(body));
    return nc.jetstream().publish(`${config.NATS_JOB_SUBJECT_PREFIX}.${options.level ?? 'high'}`, data, { headers: h });
  });
}

/** The bridge consumer's state: what waits, and what was handed out but not acked. */
export async function consumerState(config: Config): Promise<{ pending: number; ackPending: number; redelivered: number }> {
  return withNats(config.NATS_URL, async (nc) => {
    const info = await (await nc.jetstreamManager()).consumers.info(config.NATS_JOB_STREAM, config.NATS_CONSUMER);
    return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
  });
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
