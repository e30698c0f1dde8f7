import { OutputTail } from '../activities/outputTail';
import { LineSplitter } from './lineSplitter';
import { maskSecrets } from './secrets';
import type { StepResult } from '../job/types';
import type { LogBatch, LogLine, OutputStream } from './types';

export interface StepLogSinkOptions {
  /** Publishes one batch durably (JetStream ack); throws when it cannot. */
  publish(batch: LogBatch): Promise<void>;
  step: Pick<LogBatch, 'jobId' | 'stepIndex' | 'stepId' | 'stepName' | 'containerId'>;
  secrets: readonly string[];
  /** Bytes of lines a step may log (after long lines are cut); past it, output is counted, not kept. */
  maxBytes: number;
  maxLineBytes: number;
  /** Bytes an earlier attempt published already (a re-attached step): not published again. */
  resumeOffset?: number;
  tailBytes?: number;
  flushMs?: number;
  now?: () => Date;
}

const BATCH_BYTES = 64 * 1024;
const BATCH_LINES = 1000;

/**
 * A step's output on its way to the log stream: split into lines, secrets masked, batched, and
 * published in order. `write` waits while a batch is published, so a slow NATS slows the read
 * from Docker instead of filling memory.
 */
export class StepLogSink {
  private readonly splitter: LineSplitter;
  private readonly tail: OutputTail;
  private offset = 0;
  private batchStart: number;
  private batch: LogLine[] = [];
  private batchBytes = 0;
  private dropped = 0;
  private kept = 0;
  private capped = false;
  private publishing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: StepLogSinkOptions) {
    this.splitter = new LineSplitter(options.maxLineBytes);
    this.tail = new OutputTail(options.tailBytes ?? 2048);
    this.now = options.now ?? (() => new Date());
    this.batchStart = options.resumeOffset ?? 0;
  }

  async write(stream: OutputStream, chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    let data = chunk;
    const resume = this.options.resumeOffset ?? 0;
    if (this.offset < resume) {
      const skip = Math.min(resume - this.offset, data.length);
      this.offset += skip;
      data = data.subarray(skip);
      if (data.length === 0) return;
    }
    this.offset += data.length;
    // Past the cap, output is only counted: no splitting, no memory.
    if (this.capped) this.dropped += data.length;
    else for (const line of this.splitter.push(stream, data)) this.add(line.stream, line.text, line.truncated);
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_LINES) await this.flush();
    else this.scheduleFlush();
  }

  /**
   * Publishes what is left (and a marker for what was cut); resolves when all is acknowledged.
   * `result` goes on the last batch (one without lines when nothing is left).
   */
  async close(result?: StepResult): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (!this.capped) for (const line of this.splitter.flush()) this.add(line.stream, line.text, line.truncated);
    if (this.dropped > 0) {
      this.capped = false;
      this.add('stderr', `[hades: output cut: ${this.dropped} bytes past the limit of ${this.options.maxBytes} bytes per step were dropped]`, true, true);
    }
    await this.flush(result);
    await this.publishing;
    if (this.failure) throw this.failure;
  }

  /** The last bytes of (masked) output, for the step's status. */
  tailText(): string {
    return this.tail.text();
  }

  private add(stream: OutputStream, raw: string, truncated: boolean, marker = false): void {
    const size = Buffer.byteLength(raw) + 1;
    if (!marker && this.kept + size > this.options.maxBytes) {
      this.capped = true;
      this.dropped += size;
      return;
    }
    this.kept += size;
    const message = maskSecrets(raw, this.options.secrets, truncated && !marker);
    const line: LogLine = { timestamp: this.now().toISOString(), message, output_stream: stream, ...(truncated && { truncated: true as const }) };
    this.batch.push(line);
    this.batchBytes += message.length + 64;
    this.tail.push(Buffer.from(`${message}${truncated ? ' […]' : ''}\n`));
  }

  private scheduleFlush(): void {
    if (this.timer || this.batch.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, this.options.flushMs ?? 200);
  }

  private async flush(result?: StepResult): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch.length === 0 && !result) return this.publishing;
    const batch: LogBatch = { ...this.options.step, offset: this.batchStart, end: this.offset, lines: this.batch, ...(result && { result }) };
    this.batch = [];
    this.batchBytes = 0;
    this.batchStart = this.offset;
    // One publish at a time, in order; the caller waits for it (backpressure).
    this.publishing = this.publishing.then(() =>
      this.options.publish(batch).catch((err: unknown) => {
        this.failure ??= err;
      }),
    );
    await this.publishing;
    if (this.failure) throw this.failure;
  }
}
