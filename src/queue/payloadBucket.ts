import { StorageType } from 'nats';
import type { JetStreamClient, KV } from 'nats';
import { isNotFound } from './streams';

// The current Hades's job bucket (`HADES_JOBS`): its API puts a job's payload there under the
// job id, and publishes only the id. Created as the current Hades creates it (its defaults:
// one value per key, no expiry), so neither side ever changes the other's bucket.

export interface PayloadReader {
  name: string;
  /** The payload under a job id; undefined when there is none (or no bucket). */
  get(id: string): Promise<Uint8Array | undefined>;
}

export interface PayloadWriter {
  put(id: string, payload: Uint8Array): Promise<void>;
  delete(id: string): Promise<void>;
}

/** Reads the bucket where it exists; never creates it (bound at the first read that finds it). */
export function payloadReader(js: JetStreamClient, name: string): PayloadReader {
  let bound: Promise<KV> | undefined;
  return {
    name,
    async get(id) {
      bound ??= js.views.kv(name, { bindOnly: true });
      let kv;
      try {
        kv = await bound;
      } catch (err) {
        bound = undefined;
        if (isNotFound(err)) return undefined;
        throw err;
      }
      const entry = await kv.get(id);
      return entry && entry.operation === 'PUT' ? entry.value : undefined;
    },
  };
}

/** The bucket for writing (POST /build with SUBMIT_FORMAT=reference), made if missing. */
export async function payloadWriter(js: JetStreamClient, name: string, replicas = 1): Promise<PayloadWriter> {
  const kv = await js.views.kv(name, { history: 1, storage: StorageType.File, replicas });
  return {
    async put(id, payload) {
      await kv.put(id, payload);
    },
    async delete(id) {
      await kv.delete(id);
    },
  };
}
