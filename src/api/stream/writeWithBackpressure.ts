import type { Writable } from 'node:stream';

/**
 * Writes `chunk`; when the socket's buffer is full, waits for it to drain (or close) before
 * resolving, so a slow reader holds back the producer instead of growing the server's memory.
 * `onWait` is told each time it waits (metrics, tests).
 */
export async function writeWithBackpressure(out: Writable, chunk: string, onWait?: () => void): Promise<void> {
  if (out.destroyed || out.writableEnded) return;
  if (out.write(chunk)) return;
  onWait?.();
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
