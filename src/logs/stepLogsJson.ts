import type { LogBatch } from './types';

/**
 * The body of GET /jobs/{id}/logs, `{"logs":[StepLogs, …]}`, written piece by piece as the
 * batches are read: the API holds one page of batches, never the job's whole log. One entry per
 * step container (a container's batches come one after another: steps run in order, and a
 * re-attached step keeps its container).
 */
export async function writeStepLogsJson(batches: AsyncIterable<LogBatch>, write: (chunk: string) => Promise<boolean>): Promise<void> {
  // `write` resolves false once the reader is gone: then no more is read.
  if (!(await write('{"logs":['))) return;
  let open: string | undefined;
  let firstLine = true;
  for await (const b of batches) {
    // A step's recorded result without lines of its own opens no entry: a step that wrote
    // nothing has none, as before results were recorded.
    if (b.lines.length === 0 && b.result) continue;
    const key = `${b.stepIndex}:${b.containerId}`;
    if (key !== open) {
      const head = JSON.stringify({ job_id: b.jobId, container_id: b.containerId, step_id: b.stepId, step_name: b.stepName });
      if (!(await write(`${open === undefined ? '' : ']},'}${head.slice(0, -1)},"logs":[`))) return;
      open = key;
      firstLine = true;
    }
    if (b.lines.length === 0) continue;
    if (!(await write(`${firstLine ? '' : ','}${b.lines.map((l) => JSON.stringify(l)).join(',')}`))) return;
    firstLine = false;
  }
  await write(open === undefined ? ']}' : ']}]}');
}
