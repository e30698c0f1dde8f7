import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { testEnv } from '../helpers/testEnv';

// Histories recorded from real runs (npm run record-histories) must replay against today's
// workflow code: a change that would break running jobs fails here first.
const dir = join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

// Every path the workflow has: a change that breaks replay of any of them fails CI. (Two paths
// leave no history of their own: a job cancelled before the bridge starts its workflow never gets
// one, and a step re-attached after a worker crash records only its last attempt, as a retried
// step does. A job cancelled once its workflow runs but before a worker took its step is a path:
// cancelled-before-step, its step activity scheduled and cancelled, never started.)
// All but service-queue and cancelled-before-step were recorded before the 'service-task-queue'
// patch: they replay the old path, those two the new one. All but status-feed were recorded
// before the 'status-feed' patch (a job's end published on the status feed). The cleanup-* ones
// were recorded with the 'cleanup-in-step' patch: the step a job ends with cleans up after
// itself (a passing job, a failing step); a cancelled job still runs its cleanup activity, only
// once its step let go of its container (cleanup-after-cancel).
const paths = [
  'succeeded',
  'failed',
  'continue-on-error',
  'step-timeout',
  'job-timeout',
  'cancelled-during-step',
  'cancelled-before-step',
  'callback-after-retries',
  'aged-priority',
  'pinned-to-host',
  'service-queue',
  'status-feed',
  'cleanup-in-step',
  'cleanup-in-failed-step',
  'cleanup-after-cancel',
];

it('has a recorded history for every path of the workflow', () => {
  assert.deepEqual(files.sort(), paths.map((p) => `${p}.json`).sort());
});

it('replays every recorded history without non-determinism', async () => {
  const histories = files.map((f) => ({ workflowId: f, history: JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown }));
  const results = Worker.runReplayHistories({ workflowBundle: { codePath: testEnv.workflowBundle } }, histories);
  let replayed = 0;
  for await (const result of results) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed++;
  }
  assert.equal(replayed, files.length);
});
