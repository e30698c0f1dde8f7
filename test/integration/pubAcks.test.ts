import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, headers as natsHeaders, NatsError, RetentionPolicy, StorageType } from 'nats';
import type { NatsConnection } from 'nats';
import { ackedPublisher } from '../../src/queue/pubAcks';
import { testEnv } from '../helpers/testEnv';

// The API's JetStream publishes (POST /build) go through ackedPublisher: each must settle exactly
// as nats.js's js.publish would — acked, deduplicated, refused, or timed out — and never hang.

describe('ackedPublisher', () => {
  const tag = randomUUID().slice(0, 8);
  const stream = `PUBACKS_${tag}`;
  const subject = `pubacks.${tag}`;
  let nc: NatsConnection;

  before(async () => {
    nc = await connect({ servers: testEnv.natsUrl });
    await (await nc.jetstreamManager()).streams.add({ name: stream, subjects: [`${subject}.>`], retention: RetentionPolicy.Limits, storage: StorageType.Memory });
  });
  after(async () => {
    await (await nc.jetstreamManager()).streams.delete(stream);
    await nc.close();
  });

  it('resolves with the stream and sequence, stores the message with its headers, and reports a repeated msgID as a duplicate', async () => {
    const acks = ackedPublisher(nc, 5_000);
    try {
      const h = natsHeaders();
      h.set('Hades-Test', 'yes');
      const [a, b] = await Promise.all([acks.publish(`${subject}.a`, new TextEncoder().encode('one'), { msgID: `${tag}-1`, headers: h }), acks.publish(`${subject}.b`, new TextEncoder().encode('two'))]);
      assert.deepEqual([a.stream, a.duplicate, b.stream, b.duplicate], [stream, false, stream, false]);
      assert.notEqual(a.seq, b.seq);
      const again = await acks.publish(`${subject}.a`, new TextEncoder().encode('one'), { msgID: `${tag}-1` });
      assert.deepEqual([again.seq, again.duplicate], [a.seq, true]);
      const stored = await (await nc.jetstreamManager()).streams.getMessage(stream, { seq: a.seq });
      assert.equal(new TextDecoder().decode(stored.data), 'one');
      assert.equal(stored.header.get('Hades-Test'), 'yes');
      assert.equal(stored.header.get('Nats-Msg-Id'), `${tag}-1`);
    } finally {
      acks.close();
    }
  });

  it('rejects with a NatsError when no stream takes the subject, and with the JetStream error when the stream refuses', async () => {
    const acks = ackedPublisher(nc, 5_000);
    try {
      await assert.rejects(acks.publish(`nostream.${tag}`, new Uint8Array()), (err: unknown) => err instanceof NatsError && err.code === '503' && err.message.includes(`nostream.${tag}`));
      const h = natsHeaders();
      h.set('Nats-Expected-Stream', 'SOME_OTHER_STREAM');
      await assert.rejects(acks.publish(`${subject}.c`, new Uint8Array(), { headers: h }), (err: unknown) => err instanceof NatsError && /expected stream/i.test(err.message) && (err as { api_error?: { code?: number } }).api_error?.code === 400);
    } finally {
      acks.close();
    }
  });

  it('rejects a publish nobody acknowledges once its time is up, and what still waits when closed', async () => {
    // A plain subscriber takes the subject and never answers: no JetStream ack ever comes.
    const silent = nc.subscribe(`silent.${tag}`);
    const acks = ackedPublisher(nc, 300);
    try {
      await assert.rejects(acks.publish(`silent.${tag}`, new Uint8Array()), (err: unknown) => err instanceof NatsError && err.code === 'TIMEOUT');
      const slow = ackedPublisher(nc, 60_000);
      const waiting = slow.publish(`silent.${tag}`, new Uint8Array());
      slow.close();
      await assert.rejects(waiting, (err: unknown) => err instanceof NatsError && err.code === 'CANCELLED');
    } finally {
      acks.close();
      silent.unsubscribe();
    }
  });

  it('rejects what waits when the connection closes', async () => {
    const own = await connect({ servers: testEnv.natsUrl });
    const silent = own.subscribe(`silent2.${tag}`);
    const acks = ackedPublisher(own, 60_000);
    const waiting = acks.publish(`silent2.${tag}`, new Uint8Array());
    await own.flush();
    silent.unsubscribe();
    await own.close();
    await assert.rejects(waiting, (err: unknown) => err instanceof NatsError && err.code === 'CONNECTION_CLOSED');
  });
});
