import { connect } from 'nats';
import type { Config } from '../../src/config';
import { until } from './nats';

export interface FeedEvent {
  status: string;
  reason?: string;
}

export interface FeedWatch {
  /** The current Hades's events of a job so far (`<statusPrefix>.<Status>`), in arrival order. */
  events(id: string): FeedEvent[];
  /** This project's own events of a job so far (`<eventsPrefix>.<id>`), parsed. */
  own(id: string): Record<string, unknown>[];
  /** Waits until the job's Hades events end with a terminal one (Succeeded, Failed, Stopped). */
  ended(id: string, timeoutMs?: number): Promise<FeedEvent[]>;
  close(): Promise<void>;
}

const terminal = new Set(['Succeeded', 'Failed', 'Stopped']);

/** A subscriber on the status feed, as the current Hades's clients subscribe (`hades.jobstatus.*`). */
export async function watchStatusFeed(config: Pick<Config, 'NATS_URL' | 'NATS_STATUS_SUBJECT_PREFIX' | 'NATS_EVENTS_SUBJECT_PREFIX'>): Promise<FeedWatch> {
  const nc = await connect({ servers: config.NATS_URL });
  const hades = new Map<string, FeedEvent[]>();
  const own = new Map<string, Record<string, unknown>[]>();
  const push = <T>(map: Map<string, T[]>, id: string, value: T) => map.set(id, [...(map.get(id) ?? []), value]);
  const prefix = `${config.NATS_STATUS_SUBJECT_PREFIX}.`;
  nc.subscribe(`${prefix}*`, {
    callback: (_err, msg) => {
      const reason = msg.headers?.get('X-Hades-Reason');
      push(hades, msg.string(), { status: msg.subject.slice(prefix.length), ...(reason && { reason }) });
    },
  });
  nc.subscribe(`${config.NATS_EVENTS_SUBJECT_PREFIX}.>`, {
    callback: (_err, msg) => {
      const event = msg.json<Record<string, unknown>>();
      push(own, String(event.job_id), event);
    },
  });
  await nc.flush();
  return {
    events: (id) => hades.get(id) ?? [],
    own: (id) => own.get(id) ?? [],
    ended: (id, timeoutMs = 90_000) =>
      until(`job ${id}'s end on the status feed`, async () => {
        const seen = hades.get(id) ?? [];
        return seen.length > 0 && terminal.has(seen[seen.length - 1]!.status) && seen;
      }, timeoutMs),
    close: () => nc.close(),
  };
}
