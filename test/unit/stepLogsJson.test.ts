import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeStepLogsJson } from '../../src/logs/stepLogsJson';
import { seededRandom } from '../helpers/random';

/** The model the streamed body must equal: batches grouped per step container, all in memory. */
function toStepLogs(batches: LogBatch[]): StepLogs[] {
  const byContainer = new Map<string, StepLogs>();
  for (const b of batches) {
    const key = `${b.stepIndex}:${b.containerId}`;
    let entry = byContainer.get(key);
    if (!entry) {
      entry = { job_id: b.jobId, container_id: b.containerId, step_id: b.stepId, step_name: b.stepName, logs: [] };
      byContainer.set(key, entry);
    }
    entry.logs.push(...b.lines);
  }
  return [...byContainer.values()];
}
import type { LogBatch, LogLine, StepLogs } from '../../src/logs/types';


/** Batches as a job writes them: steps in order, each step's containers one after another. */
function jobBatches(seed: number): LogBatch[] {
  const rnd = seededRandom(seed);
  const batches: LogBatch[] = [];
  const steps = Math.floor(rnd() * 4);
  for (let step = 0; step < steps; step++) {
    const containers = 1 + Math.floor(rnd() * 2);
    for (let c = 0; c < containers; c++) {
      const count = Math.floor(rnd() * 5);
      let offset = 0;
      for (let b = 0; b < count; b++) {
        const lines: LogLine[] = Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => ({
          timestamp: new Date(1_700_000_000_000 + i).toISOString(),
          message: `step ${step} "quoted" \\ ${'é'.repeat(Math.floor(rnd() * 3))} ${Math.floor(rnd() * 1e6)}`,
          output_stream: rnd() < 0.5 ? 'stdout' : 'stderr',
          ...(rnd() < 0.1 && { truncated: true as const }),
        }));
        batches.push({ jobId: 'job-1', stepIndex: step, stepId: String(step + 1), stepName: `step-${step}`, containerId: `c${step}-${c}`, offset, end: offset + 10, lines });
        offset += 10;
      }
    }
  }
  return batches;
}

async function* each<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

async function written(batches: LogBatch[]): Promise<{ body: string; chunks: number }> {
  let body = '';
  let chunks = 0;
  await writeStepLogsJson(each(batches), async (chunk) => {
    chunks++;
    body += chunk;
    return Promise.resolve(true);
  });
  return { body, chunks };
}

describe('writeStepLogsJson', () => {
  it('writes what toStepLogs makes of the same batches, for any job', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const batches = jobBatches(seed);
      const { body } = await written(batches);
      assert.deepEqual(JSON.parse(body), { logs: toStepLogs(batches) }, `seed ${seed}`);
    }
  });

  it('writes piece by piece: one chunk per batch at most, plus the frame', async () => {
    const batches = jobBatches(7).concat(jobBatches(11));
    const { chunks } = await written(batches);
    // Each batch writes at most a head and its lines; the opening and closing brackets two more.
    assert.ok(chunks <= 2 * batches.length + 2, `${chunks} chunks for ${batches.length} batches`);
    assert.ok(chunks > 2 || batches.length === 0);
  });

  it('stops reading batches once the reader is gone', async () => {
    let read = 0;
    async function* twenty(): AsyncGenerator<LogBatch> {
      for (let i = 0; i < 20; i++) {
        read++;
        const lines: LogLine[] = [{ timestamp: 't', message: `line ${i}`, output_stream: 'stdout' }];
        yield await Promise.resolve({ jobId: 'j', stepIndex: 0, stepId: '1', stepName: 's', containerId: 'c', offset: i, end: i + 1, lines });
      }
    }
    let writes = 0;
    // The fourth write finds the client gone.
    await writeStepLogsJson(twenty(), () => Promise.resolve(++writes < 4));
    assert.equal(writes, 4, 'nothing is written after that');
    assert.ok(read <= 3, `${read} batches read`);
  });

  it("leaves out a step's recorded result that carries no lines (a step that wrote nothing has no entry)", async () => {
    const result = { containerId: 'c0', exitCode: 0, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', oomKilled: false, timedOut: false };
    const line: LogLine = { timestamp: '2026-01-01T00:00:00.500Z', message: 'hi', output_stream: 'stdout' };
    const base = { jobId: 'job-1', stepId: '1', stepName: 'one', offset: 0, end: 3 };
    const batches: LogBatch[] = [
      { ...base, stepIndex: 0, containerId: 'c0', lines: [], result },
      { ...base, stepIndex: 1, containerId: 'c1', lines: [line] },
      { ...base, stepIndex: 1, containerId: 'c1', lines: [], result: { ...result, containerId: 'c1' } },
    ];
    assert.deepEqual(JSON.parse((await written(batches)).body), { logs: toStepLogs(batches.slice(1)) });
  });

  it('writes an empty list for a job without output', async () => {
    assert.deepEqual(JSON.parse((await written([])).body), { logs: [] });
  });
});
