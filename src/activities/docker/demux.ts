import type { OutputStream } from '../../logs/types';

export interface Frame {
  stream: OutputStream;
  data: Buffer;
}

/**
 * Docker's multiplexed stream (Tty: false) as frames. An async generator, so a slow consumer
 * slows the read from Docker instead of buffering output in memory (dockerode's demuxStream does
 * not respect backpressure). Frames larger than `maxChunk` are yielded in pieces.
 */
export async function* demux(source: AsyncIterable<Buffer | string>, maxChunk = 64 * 1024): AsyncGenerator<Frame> {
  let buf: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let stream: OutputStream = 'stdout';
  for await (const raw of source) {
    buf = buf.length === 0 ? Buffer.from(raw) : Buffer.concat([buf, Buffer.from(raw)]);
    for (;;) {
      if (remaining === 0) {
        if (buf.length < 8) break;
        stream = buf[0] === 2 ? 'stderr' : 'stdout';
        remaining = buf.readUInt32BE(4);
        buf = buf.subarray(8);
        continue;
      }
      if (buf.length === 0) break;
      const take = Math.min(remaining, buf.length, maxChunk);
      const data = buf.subarray(0, take);
      buf = buf.subarray(take);
      remaining -= take;
      yield { stream, data };
    }
  }
}
