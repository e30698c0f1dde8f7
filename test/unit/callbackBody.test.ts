import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallbackBody } from '../../src/activities/callbackBody';
import type { LogBatch } from '../../src/logs/types';

function batch(stepIndex: number, messages: string[]): LogBatch {
  return {
    jobId: 'j',
    stepIndex,
    stepId: String(stepIndex + 1),
    stepName: `s${stepIndex}`,
    containerId: `c${stepIndex}`,
    offset: 0,
    end: 0,
    lines: messages.map((message) => ({ timestamp: '2026-01-01T00:00:00.000Z', message, output_stream: 'stdout' as const })),
  };
}

const lineBytes = (m: string) => Buffer.byteLength(JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', message: m, output_stream: 'stdout' })) + 1;

describe('CallbackBody', () => {
  it('keeps every line when they fit, in the Hades shape', () => {
    const body = new CallbackBody('j', 10_000);
    body.push(batch(0, ['a', 'b']));
    body.push(batch(1, ['c']));
    assert.deepEqual(
      body.logs().map((l) => [l.container_id, l.logs.map((x) => x.message)]),
      [
        ['c0', ['a', 'b']],
        ['c1', ['c']],
      ],
    );
  });

  it('keeps the newest lines within the bound and says, per step, how many earlier ones it left out', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, '0')}`);
    const max = lineBytes('line 0000') * 10;
    const body = new CallbackBody('j', max);
    body.push(batch(0, lines.slice(0, 600)));
    body.push(batch(1, lines.slice(600)));
    const logs = body.logs();
    assert.equal(logs.length, 2, 'a step cut entirely still appears, with its marker');
    assert.deepEqual(logs[0]?.logs.map((l) => l.message), ['[hades: 600 earlier line(s) of this step are not in the callback (over CALLBACK_MAX_LOG_BYTES); GET /jobs/j/logs has them all]']);
    assert.match(logs[1]?.logs[0]?.message ?? '', /^\[hades: 390 earlier line\(s\)/);
    assert.deepEqual(logs[1]?.logs.slice(1).map((l) => l.message), lines.slice(990));
  });
});
