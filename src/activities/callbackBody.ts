import type { LogBatch, LogLine } from '../logs/types';

/** One Log object of the original Hades's callback body. */
export interface HadesLog {
  job_id: string;
  container_id: string;
  logs: LogLine[];
}

interface Kept {
  key: string;
  line: LogLine;
  bytes: number;
}

/**
 * The callback body, bounded: fed a job's log batches in order, it keeps the newest lines that fit
 * in `maxBytes` (a step's end is where its errors are) and marks, at the start of each step, how
 * many earlier lines it left out. Memory stays within the bound however long the log.
 */
export class CallbackBody {
  private readonly kept: Kept[] = [];
  private first = 0;
  private bytes = 0;
  private readonly steps = new Map<string, { containerId: string; cut: number }>();

  constructor(
    private readonly jobId: string,
    private readonly maxBytes: number,
  ) {}

  push(batch: LogBatch): void {
    const key = `${batch.stepIndex}:${batch.containerId}`;
    if (!this.steps.has(key)) this.steps.set(key, { containerId: batch.containerId, cut: 0 });
    for (const line of batch.lines) {
      const bytes = Buffer.byteLength(JSON.stringify(line)) + 1;
      this.kept.push({ key, line, bytes });
      this.bytes += bytes;
      while (this.bytes > this.maxBytes && this.first < this.kept.length) {
        const oldest = this.kept[this.first++];
        if (!oldest) break;
        this.bytes -= oldest.bytes;
        const step = this.steps.get(oldest.key);
        if (step) step.cut++;
      }
      // Drop what was let go now and then, not on every line.
      if (this.first > 1024 && this.first * 2 > this.kept.length) {
        this.kept.splice(0, this.first);
        this.first = 0;
      }
    }
  }

  /** The Log objects, one per step container, in the order the steps ran. */
  logs(): HadesLog[] {
    const byStep = new Map<string, HadesLog>();
    for (const [key, step] of this.steps) {
      const logs: LogLine[] = [];
      if (step.cut > 0) {
        logs.push({
          timestamp: new Date().toISOString(),
          message: `[hades: ${step.cut} earlier line(s) of this step are not in the callback (over CALLBACK_MAX_LOG_BYTES); GET /jobs/${this.jobId}/logs has them all]`,
          output_stream: 'stderr',
        });
      }
      byStep.set(key, { job_id: this.jobId, container_id: step.containerId, logs });
    }
    for (let i = this.first; i < this.kept.length; i++) {
      const k = this.kept[i];
      if (k) byStep.get(k.key)?.logs.push(k.line);
    }
    return [...byStep.values()];
  }
}
