import { headers as natsHeaders } from 'nats';
import type { NatsConnection } from 'nats';
import { toHadesStatus } from '../job';
import type { JobStatus } from '../job';

// The status feed: every transition of a job on core NATS, in the current Hades's words on
// `<statusPrefix>.<Status>` (payload: the bare job id; header X-Hades-Reason), and in this
// project's own on `<eventsPrefix>.<job id>` (JSON, six statuses, the reason, the time).

export interface StatusFeedNames {
  /** The current Hades's subject base: `hades.jobstatus` (NATS_STATUS_SUBJECT_PREFIX). */
  statusPrefix: string;
  /** This project's own: `hades.jobevents` (NATS_EVENTS_SUBJECT_PREFIX). */
  eventsPrefix: string;
}

export interface StatusEvent {
  jobId: string;
  status: JobStatus;
  reason?: string;
  /** When the transition happened (ISO 8601). */
  at: string;
}

/** The header the current Hades puts a status's reason in. */
export const reasonHeader = 'X-Hades-Reason';
/** The current Hades cuts a reason to this many characters. */
export const maxReasonLength = 500;

export interface FeedMessage {
  subject: string;
  data: string;
  headers?: Record<string, string>;
}

/** A reason as a header value: one line, at most maxReasonLength characters. */
export function reasonHeaderValue(reason: string): string {
  const line = reason.replace(/[\r\n]+/g, ' ').trim();
  return line.length <= maxReasonLength ? line : `${line.slice(0, maxReasonLength - 1)}…`;
}

/** The two messages of one transition: the current Hades's, then this project's. */
export function feedMessages(names: StatusFeedNames, event: StatusEvent): [FeedMessage, FeedMessage] {
  // Hades has no TimedOut: its Failed says so in the reason.
  const said = event.status === 'TimedOut' && !/timed out/i.test(event.reason ?? '') ? `timed out${event.reason ? `: ${event.reason}` : ''}` : event.reason;
  const reason = said ? reasonHeaderValue(said) : '';
  const hades: FeedMessage = {
    subject: `${names.statusPrefix}.${toHadesStatus(event.status)}`,
    data: event.jobId,
    ...(reason && { headers: { [reasonHeader]: reason } }),
  };
  const own: FeedMessage = {
    subject: `${names.eventsPrefix}.${event.jobId}`,
    data: JSON.stringify({ job_id: event.jobId, status: event.status, hades_status: toHadesStatus(event.status), ...(event.reason && { reason: event.reason }), at: event.at }),
  };
  return [hades, own];
}

export interface StatusFeed {
  /** Publishes one transition; resolves once the NATS server has it (a flush), so the next one, from any process, comes after it. */
  publish(event: StatusEvent): Promise<void>;
}

export function createStatusFeed(nc: NatsConnection, names: StatusFeedNames): StatusFeed {
  return {
    async publish(event) {
      for (const msg of feedMessages(names, event)) {
        let h;
        if (msg.headers) {
          h = natsHeaders();
          for (const [k, v] of Object.entries(msg.headers)) h.set(k, v);
        }
        nc.publish(msg.subject, msg.data, h ? { headers: h } : undefined);
      }
      await nc.flush();
    },
  };
}
