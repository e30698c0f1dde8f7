import type { LogBatch } from './types';

/**
 * The body of GET /jobs/{id}/logs, `{"logs":[StepLogs, …]}`, written piece by piece as the
 * batches are read: the API holds one batch, never the job's whole log. One entry per step
 * container, as `toStepLogs` makes them (a container's batches come one after another: steps
 * run in order, and a re-attached step keeps its container).
 */
export async function writeStepLogsJson(batches: AsyncIterable<LogBatch>, write: (chunk: string) => Promise<void>): Promise<void> {
  await write('{"logs":[');
  let open: string | undefined;
  let firstLine = true;
  for await (const b of batches) {
    const key = `${b.stepIndex}:${b.containerId}`;
    if (key !== open) {
      const head = JSON.stringify({ job_id: b.jobId, container_id: b.containerId, step_id: b.stepId, step_name: b.stepName });
      await write(`${open === undefined ? '' : ']},'}${head.slice(0, -1)},"logs":[`);
      open = key;
      firstLine = true;
    }
    if (b.lines.length === 0) continue;
    await write(`${firstLine ? '' : ','}${b.lines.map((l) => JSON.stringify(l)).join(',')}`);
    firstLine = false;
  }
  await write(open === undefined ? ']}' : ']}]}');
}
