import type { OutputStream } from './types';

export interface SplitLine {
  stream: OutputStream;
  text: string;
  truncated: boolean;
}

/**
 * Cuts a step's raw output into lines, per stream, in bounded memory: a line longer than
 * `maxLineBytes` is cut there (and marked), the rest of it dropped up to its newline. Bytes that
 * are not UTF-8 become U+FFFD; binary output is shown, never fatal.
 */
export class LineSplitter {
  private partial: Record<OutputStream, { chunks: Buffer[]; size: number; overflow: boolean }> = {
    stdout: { chunks: [], size: 0, overflow: false },
    stderr: { chunks: [], size: 0, overflow: false },
  };

  constructor(private readonly maxLineBytes: number) {}

  push(stream: OutputStream, chunk: Buffer): SplitLine[] {
    const out: SplitLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const p = this.partial[stream];
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!p.overflow) {
        const room = this.maxLineBytes - p.size;
        const piece = chunk.subarray(start, Math.min(end, start + room));
        if (piece.length > 0) {
          p.chunks.push(piece);
          p.size += piece.length;
        }
        if (end - start > room) p.overflow = true;
      }
      if (nl === -1) break;
      out.push(this.take(stream));
      start = nl + 1;
    }
    return out;
  }

  /** Lines left without a final newline, at the end of the output. */
  flush(): SplitLine[] {
    return (['stdout', 'stderr'] as const).filter((s) => this.partial[s].size > 0 || this.partial[s].overflow).map((s) => this.take(s));
  }

  private take(stream: OutputStream): SplitLine {
    const p = this.partial[stream];
    let text = Buffer.concat(p.chunks, p.size).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const line = { stream, text, truncated: p.overflow };
    this.partial[stream] = { chunks: [], size: 0, overflow: false };
    return line;
  }
}
