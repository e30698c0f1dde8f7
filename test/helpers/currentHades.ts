import { StorageType } from 'nats';
import type { NatsConnection, PubAck } from 'nats';
import type { Config } from '../../src/config';
import { referenceBytes } from '../../src/bridge/intake';

// What the current Hades (github.com/ls1intum/hades, shared/nats) does on NATS, byte for byte,
// under a test's own names: its API's stream and bucket set-up, its enqueue, its scheduler's
// consumers. Written from its source; used to show that its clients work against this project.

type Names = Pick<Config, 'NATS_URL' | 'NATS_JOB_STREAM' | 'NATS_JOB_SUBJECT_PREFIX' | 'NATS_PAYLOAD_BUCKET' | 'NATS_STATUS_SUBJECT_PREFIX'>;

const MINUTE_NS = 60 * 1e9;

/**
 * Its job stream, as its Go client sends it: the whole config (no metadata), zero for "unset".
 * `CreateOrUpdateStream` is an update, then a create when there is no such stream.
 */
export function hadesJobStreamConfig(names: Names): Record<string, unknown> {
  return {
    name: names.NATS_JOB_STREAM,
    subjects: [`${names.NATS_JOB_SUBJECT_PREFIX}.*`],
    retention: 'workqueue',
    max_consumers: 0,
    max_msgs: 0,
    max_bytes: 0,
    discard: 'old',
    max_age: 24 * 60 * MINUTE_NS,
    max_msgs_per_subject: 0,
    max_msg_size: 0,
    storage: 'file',
    num_replicas: 0,
    duplicate_window: MINUTE_NS,
  };
}

async function jsApi(nc: NatsConnection, subject: string, body: unknown): Promise<{ error?: { code: number; err_code: number; description: string }; config?: Record<string, unknown> }> {
  const res = await nc.request(subject, JSON.stringify(body), { timeout: 10_000 });
  return res.json();
}

/** What its API does at start: CreateOrUpdateStream(HADES_JOBS), CreateOrUpdateKeyValue(HADES_JOBS). */
export async function startHadesApi(nc: NatsConnection, names: Names): Promise<void> {
  const config = hadesJobStreamConfig(names);
  let res = await jsApi(nc, `$JS.API.STREAM.UPDATE.${names.NATS_JOB_STREAM}`, config);
  if (res.error?.err_code === 10059) res = await jsApi(nc, `$JS.API.STREAM.CREATE.${names.NATS_JOB_STREAM}`, config);
  if (res.error) throw new Error(`the current Hades could not set up its stream: ${res.error.description}`);
  // Its bucket: the defaults (one value per key, file storage, no expiry).
  await nc.jetstream().views.kv(names.NATS_PAYLOAD_BUCKET, { history: 1, storage: StorageType.File });
}

/** What its API does with a job: the payload into the bucket, the 16-byte id on the stream, Queued on the feed. */
export async function enqueueLikeHades(nc: NatsConnection, names: Names, payload: { id: string } & Record<string, unknown>, level: 'high' | 'medium' | 'low', options: { payloadBytes?: Uint8Array; reference?: Uint8Array } = {}): Promise<PubAck> {
  const kv = await nc.jetstream().views.kv(names.NATS_PAYLOAD_BUCKET, { bindOnly: true });
  await kv.put(payload.id, options.payloadBytes ?? new TextEncoder().encode(JSON.stringify(payload)));
  const ack = await nc.jetstream().publish(`${names.NATS_JOB_SUBJECT_PREFIX}.${level}`, options.reference ?? referenceBytes(payload.id), { msgID: payload.id });
  nc.publish(`${names.NATS_STATUS_SUBJECT_PREFIX}.Queued`, payload.id);
  await nc.flush();
  return ack;
}

/** What its scheduler does at start: one durable consumer per priority, HADES_JOBS_<priority>. */
export async function startHadesSchedulerConsumers(nc: NatsConnection, names: Names): Promise<string[]> {
  const made: string[] = [];
  for (const level of ['high', 'medium', 'low']) {
    const name = `HADES_JOBS_${level}`;
    const res = await jsApi(nc, `$JS.API.CONSUMER.CREATE.${names.NATS_JOB_STREAM}.${name}.${names.NATS_JOB_SUBJECT_PREFIX}.${level}`, {
      stream_name: names.NATS_JOB_STREAM,
      config: { name, durable_name: name, ack_policy: 'explicit', filter_subject: `${names.NATS_JOB_SUBJECT_PREFIX}.${level}` },
      action: '',
    });
    if (res.error) throw new Error(`the current Hades could not make its consumer ${name}: ${res.error.description}`);
    made.push(name);
  }
  return made;
}

/** A job as its Go API writes it: every field of its structs, the unset ones as zero values. */
export function goPayload(id: string, image: string, script: string, name = 'from the current Hades'): { id: string } & Record<string, unknown> {
  return {
    id,
    name,
    timestamp: new Date().toISOString(),
    metadata: { course: 'test' },
    steps: [{ id: 1, name: 'build', image, script, continue_on_error: false, metadata: null, cpu_limit: 0, memory_limit: '' }],
    timeout_seconds: 0,
  };
}

