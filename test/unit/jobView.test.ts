import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toJobSpec, parseJobPayload } from '../../src/job';
import type { StepOutcome } from '../../src/job';
import { initialMemo } from '../../src/temporal/jobs';
import { jobView } from '../../src/temporal/jobView';
import { memoKeys } from '../../src/workflows/memo';
import { jobEnded, stepFinished } from '../../src/workflows/state';

function spec() {
  const parsed = parseJobPayload({ name: 'v', steps: [{ image: 'a:1' }, { image: 'b:1' }] });
  assert.ok(parsed.ok);
  return toJobSpec(parsed.payload, 'id-1', new Date('2026-01-01T00:00:00Z'));
}

describe('jobView', () => {
  it('shows a started workflow whose first activity no worker took yet as Queued', () => {
    const memo = initialMemo(spec());
    const job = memo[memoKeys.job] as Record<string, unknown>;
    memo[memoKeys.job] = { ...job, status: 'Running', startedAt: '2026-01-01T00:00:01Z' };
    memo[memoKeys.step(0)] = { ...(memo[memoKeys.step(0)] as object), status: 'Running' };
    const view = jobView({ status: 'RUNNING', memo, activityStarted: false });
    assert.equal(view?.status, 'Queued');
    assert.deepEqual(view?.steps.map((s) => s.status), ['Pending', 'Pending']);
    assert.equal(jobView({ status: 'RUNNING', memo, activityStarted: true })?.status, 'Running');
  });

  it('maps closed executions the workflow could not describe itself', () => {
    const memo = initialMemo(spec());
    assert.equal(jobView({ status: 'TERMINATED', memo })?.status, 'Failed');
    assert.equal(jobView({ status: 'CANCELLED', memo })?.status, 'Cancelled');
    assert.equal(jobView({ status: 'TIMED_OUT', memo })?.status, 'TimedOut');
    assert.equal(jobView({ status: 'RUNNING', memo: {} }), undefined);
  });
});

describe('state transitions', () => {
  const outcome: StepOutcome = {
    containerId: 'c',
    exitCode: 0,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:02.500Z',
    oomKilled: false,
    timedOut: false,
    outputTail: 'ok',
  };
  const step = { index: 0, id: '1', name: 'build', image: 'a:1', status: 'Running' as const };

  it('reads an outcome: success, exit code, out of memory, timeout', () => {
    assert.equal(stepFinished(step, outcome).status, 'Succeeded');
    assert.equal(stepFinished(step, outcome).durationMs, 2500);
    const failed = stepFinished(step, { ...outcome, exitCode: 2 });
    assert.deepEqual([failed.status, failed.reason], ['Failed', 'step "build" exited with code 2']);
    assert.match(stepFinished(step, { ...outcome, exitCode: 137, oomKilled: true }).reason ?? '', /out of memory/);
    assert.equal(stepFinished(step, { ...outcome, exitCode: 137, timedOut: true }).status, 'TimedOut');
  });

  it('marks steps that never ran as Skipped when a job ends', () => {
    const s = spec();
    const memo = initialMemo(s);
    const job = jobView({ status: 'RUNNING', memo });
    assert.ok(job);
    const ended = jobEnded({ ...job, steps: [{ ...step }, { ...step, index: 1, status: 'Pending' }] }, 'Cancelled', '2026-01-01T00:01:00Z', 'job was cancelled');
    assert.deepEqual(ended.steps.map((x) => x.status), ['Cancelled', 'Skipped']);
  });
});
