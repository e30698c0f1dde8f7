import { createInbox, ErrorCode, headers as natsHeaders, NatsError } from 'nats';
import type { MsgHdrs, NatsConnection, PubAck, Subscription } from 'nats';

// JetStream publishes on the API's hot path (POST /build writes two per job), acknowledged through
// one reply subscription. nats.js's `js.publish` is a request: per publish it makes a request
// object, a timer promise and, once answered, a "cancelled" NatsError with its stack trace (its
// way of settling the request) — 7–10 % of the API's CPU under intake. Here a publish is one
// `nc.publish` with a reply subject and one entry in a map; timeouts are swept, not timed one by one.

export interface AckedPublisher {
  /** Publishes to a stream's subject; resolves with JetStream's ack, rejects as `js.publish` does (a NatsError). */
  publish(subject: string, data: Uint8Array, options?: { msgID?: string; headers?: MsgHdrs }): Promise<PubAck>;
  /** Stops listening for acks; publishes still waiting reject. */
  close(): void;
}

interface Waiting {
  subject: string;
  deadline: number;
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
}

/** JetStream's answer to a publish: the ack, or an API error. */
interface PubAckResponse {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  domain?: string;
  error?: { code: number; err_code?: number; description: string };
}

export function ackedPublisher(nc: NatsConnection, timeoutMs: number): AckedPublisher {
  const prefix = `${createInbox()}.`;
  const waiting = new Map<string, Waiting>();
  let next = 0;
  const decoder = new TextDecoder();
  const sub: Subscription = nc.subscribe(`${prefix}*`, {
    callback: (err, msg) => {
      if (err) return failAll(err);
      const token = msg.subject.slice(prefix.length);
      const w = waiting.get(token);
      if (!w) return; // answered after its timeout
      waiting.delete(token);
      // No stream takes the subject: the server answers with status 503 (no responders).
      if (msg.headers?.hasError && msg.headers.code === 503) return w.reject(new NatsError(`no stream takes subject ${w.subject}`, ErrorCode.NoResponders));
      let body: PubAckResponse;
      try {
        body = JSON.parse(decoder.decode(msg.data)) as PubAckResponse;
      } catch (parseErr) {
        return w.reject(new NatsError(`JetStream's answer to a publish on ${w.subject} is not JSON`, ErrorCode.BadJson, parseErr instanceof Error ? parseErr : undefined));
      }
      if (body.error) {
        const e = new NatsError(body.error.description, String(body.error.code));
        Object.assign(e, { api_error: body.error });
        return w.reject(e);
      }
      if (body.stream === undefined || body.seq === undefined) return w.reject(new NatsError(`JetStream's answer to a publish on ${w.subject} is not an ack`, ErrorCode.JetStreamInvalidAck));
      w.resolve({ stream: body.stream, seq: body.seq, duplicate: body.duplicate ?? false, domain: body.domain ?? '' });
    },
  });

  // Every publish waits equally long, so the map (in insertion order) is also in deadline order.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [token, w] of waiting) {
        if (w.deadline > now) break;
        waiting.delete(token);
        w.reject(new NatsError(`JetStream did not acknowledge the publish on ${w.subject} within ${timeoutMs} ms`, ErrorCode.Timeout));
      }
    },
    Math.min(250, timeoutMs),
  );
  sweep.unref();
  void nc.closed().then(() => {
    clearInterval(sweep);
    failAll(new NatsError('the NATS connection closed before JetStream acknowledged', ErrorCode.ConnectionClosed));
  });

  function failAll(err: Error): void {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  }

  return {
    publish(subject, data, options) {
      return new Promise<PubAck>((resolve, reject) => {
        const token = String(next++);
        let headers = options?.headers;
        if (options?.msgID !== undefined) {
          headers ??= natsHeaders();
          headers.set('Nats-Msg-Id', options.msgID);
        }
        waiting.set(token, { subject, deadline: Date.now() + timeoutMs, resolve, reject });
        try {
          nc.publish(subject, data, { reply: prefix + token, ...(headers && { headers }) });
        } catch (err) {
          waiting.delete(token);
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },
    close() {
      clearInterval(sweep);
      sub.unsubscribe();
      failAll(new NatsError('the publisher was closed before JetStream acknowledged', ErrorCode.Cancelled));
    },
  };
}
