import type { OutputStream } from '../../logs/types';

export interface Frame {
  stream: OutputStream;
  data: Buffer;
}

/**
 * Docker's multiplexed stream (Tty: false) as chunks of one stream each. An async generator, so
 * a slow consumer slows the read from Docker instead of buffering output in memory (dockerode's
 * demuxStream does not respect backpressure). Docker frames every log line on its own: a run of
 * frames of one stream that arrived together is handed on as one chunk (at most `maxChunk`
 * bytes), so a step printing a million short lines costs a few hundred hand-overs, not a million.
 */
export async function* demux(source: AsyncIterable<Buffer | string>, maxChunk = 64 * 1024): AsyncGenerator<Frame> {
  let buf: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let stream: OutputStream = 'stdout';
  for await (const raw of source) {
    buf = buf.length === 0 ? Buffer.from(raw) : Buffer.concat([buf, Buffer.from(raw)]);
    let run: Buffer[] = [];
    let runBytes = 0;
    let runStream: OutputStream = stream;
    const takeRun = (): Frame => {
      const frame = { stream: runStream, data: run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run, runBytes) };
      run = [];
      runBytes = 0;
      return frame;
    };
    for (;;) {
      if (remaining === 0) {
        if (buf.length < 8) break;
        stream = buf[0] === 2 ? 'stderr' : 'stdout';
        remaining = buf.readUInt32BE(4);
        buf = buf.subarray(8);
        continue;
      }
      if (buf.length === 0) break;
      if (runBytes > 0 && (stream !== runStream || runBytes >= maxChunk)) yield takeRun();
      runStream = stream;
      const take = Math.min(remaining, buf.length, maxChunk - runBytes);
      run.push(buf.subarray(0, take));
      runBytes += take;
      buf = buf.subarray(take);
      remaining -= take;
    }
    if (runBytes > 0) yield takeRun();
  }
}
