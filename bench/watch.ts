// How the bench sees jobs end: GET /jobs/{id} polled hard (as an impatient client), the status
// feed (every job's end, for counting), and Docker's own `die` events (when a container exited).
import Docker from 'dockerode';
import type { NatsConnection } from 'nats';

const terminal = new Set(['Succeeded', 'Failed', 'Cancelled', 'TimedOut']);

/** Polls GET /jobs/{id} every `everyMs` until the job ended; resolves with its status and when (epoch ms). */
export async function pollEnd(apiUrl: string, id: string, everyMs = 10, timeoutMs = 600_000): Promise<{ status: string; at: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${apiUrl}/jobs/${id}`);
    if (res.status === 200) {
      const { status } = (await res.json()) as { status: string };
      if (terminal.has(status)) return { status, at: Date.now() };
    } else await res.text();
    if (Date.now() > deadline) throw new Error(`job ${id} did not end in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every job's transitions on this project's own feed (`<prefix>.<id>`), as they arrive. */
export function watchFeed(nc: NatsConnection, eventsPrefix: string) {
  const ended = new Map<string, { status: string; at: number }>();
  const started = new Map<string, number>();
  const waiters: { ids: Set<string> | undefined; count: number; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const done = w.ids ? [...w.ids].every((id) => ended.has(id)) : ended.size >= w.count;
      if (done) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const sub = nc.subscribe(`${eventsPrefix}.>`, {
    callback: (_err, msg) => {
      const e = msg.json<{ job_id: string; status: string }>();
      if (e.status === 'Running' && !started.has(e.job_id)) started.set(e.job_id, Date.now());
      if (terminal.has(e.status) && !ended.has(e.job_id)) {
        ended.set(e.job_id, { status: e.status, at: Date.now() });
        check();
      }
    },
  });
  return {
    ended,
    started,
    /** Resolves once every one of `ids` ended (or, without ids, once `count` jobs did). */
    allEnded(ids: string[] | undefined, count = ids?.length ?? 0): Promise<void> {
      return new Promise((resolve) => {
        waiters.push({ ids: ids && new Set(ids), count, resolve });
        check();
      });
    },
    reset() {
      ended.clear();
      started.clear();
    },
    close: () => sub.unsubscribe(),
  };
}

/** Docker's `die` events of Hades's containers: job id → Docker's own time of the last exit (epoch ms). */
export async function watchDies() {
  const docker = new Docker();
  const lastExit = new Map<string, number>();
  const listeners: ((job: string, at: number) => void)[] = [];
  const stream = (await docker.getEvents({ filters: JSON.stringify({ type: ['container'], event: ['die'], label: ['io.hades.managed'] }) })) as NodeJS.ReadableStream & { destroy(): void };
  let partial = '';
  stream.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { timeNano: number; Actor?: { Attributes?: Record<string, string> } };
      const job = e.Actor?.Attributes?.['io.hades.job'];
      if (!job) continue;
      const at = e.timeNano / 1e6;
      lastExit.set(job, Math.max(lastExit.get(job) ?? 0, at));
      for (const l of listeners) l(job, at);
    }
  });
  return {
    lastExit,
    /** Calls `fn` on each die until the returned function is called. */
    onDie(fn: (job: string, at: number) => void): () => void {
      listeners.push(fn);
      return () => void listeners.splice(listeners.indexOf(fn), 1);
    },
    close: () => stream.destroy(),
  };
}
