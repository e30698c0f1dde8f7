import type { SseEvent } from '../../src/cli/sse';
import { sseEvents } from '../../src/cli/sse';

export type { SseEvent };

/** Reads a Server-Sent Events response until it ends (or `timeoutMs`), returning every event. */
export async function readSse(url: string, timeoutMs = 60_000): Promise<SseEvent[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: ${res.status} ${await res.text()}`);
  const events: SseEvent[] = [];
  for await (const e of sseEvents(res.body as unknown as AsyncIterable<Uint8Array>)) events.push(e);
  return events;
}
