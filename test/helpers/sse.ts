export interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads a Server-Sent Events response until it ends (or `timeoutMs`), returning every event. */
export async function readSse(url: string, timeoutMs = 60_000, onEvent?: (e: SseEvent) => void): Promise<SseEvent[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: ${res.status} ${await res.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let idx;
    while ((idx = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (!data) continue;
      const e = { event, data: JSON.parse(data) as unknown };
      events.push(e);
      onEvent?.(e);
    }
  }
  return events;
}
