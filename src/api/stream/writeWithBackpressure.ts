import type { Writable } from 'node:stream';

/**
 * Writes `chunk`; when the socket's buffer is full, waits for it to drain (or close) before
 * resolving, so a slow reader holds back the producer instead of growing the server's memory.
 * Resolves false once the client is gone (nothing more needs producing). `onWait` is told each
 * time it waits (metrics, tests).
 */
export async function writeWithBackpressure(out: Writable, chunk: string, onWait?: () => void): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return false;
  if (out.write(chunk)) return true;
  onWait?.();
  return new Promise<boolean>((resolve) => {
    const done = (drained: boolean) => () => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      resolve(drained);
    };
    const onDrain = done(true);
    const onClose = done(false);
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}
