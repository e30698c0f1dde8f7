import assert from 'node:assert/strict';
import { it } from 'node:test';
import { endsJob } from '../../src/activities/createActivities';
import { outcomeSucceeded } from '../../src/job';
import type { StepState } from '../../src/job';
import { stepFinished } from '../../src/workflows/state';

const base = { containerId: 'c', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', outputTail: '' };
const outcomes = [0, 1, 137].flatMap((exitCode) =>
  [false, true].flatMap((oomKilled) =>
    [false, true].flatMap((timedOut) => [undefined, { bytes: 2, limitBytes: 1 }].map((storageExceeded) => ({ ...base, exitCode, oomKilled, timedOut, ...(storageExceeded && { storageExceeded }) }))),
  ),
);

it("the step activity and the workflow's state agree on which results are a success", () => {
  const step: StepState = { index: 0, id: '1', name: 's', image: 'i', status: 'Running' };
  for (const o of outcomes) assert.equal(outcomeSucceeded(o), stepFinished(step, o).status === 'Succeeded', JSON.stringify(o));
});

it('a step the job ends with cleans up: the last always, one whose failure ends the job on failure only', () => {
  for (const o of outcomes) {
    assert.equal(endsJob('always', o), true);
    assert.equal(endsJob('on-failure', o), !outcomeSucceeded(o));
    assert.equal(endsJob(undefined, o), false, 'older workflows (and continue_on_error steps) never ask');
  }
});
