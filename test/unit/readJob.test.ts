import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ApiDeps } from '../../src/api/deps';
import { readJob } from '../../src/api/routes/jobs';
import type { JobState } from '../../src/job';
import type { SubmissionRecord } from '../../src/queue/jobQueue';

// The order of reads in readJob, against a bridge that starts the job between them: which
// answer a client gets is logic, not timing (the servers' part is in the integration tests).
const id = '3f0c1d2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
const record: SubmissionRecord = { id, name: 'raced', priority: 3, submittedAt: '2026-12-02T12:00:00.000Z', steps: [{ id: '1', name: 's', image: 'i' }] };
const running: JobState = { id, name: 'raced', priority: 3, priorityLevel: 'high', status: 'Running', queuedAt: record.submittedAt, steps: [] };

function deps(reads: (JobState | undefined)[], startedNow: boolean) {
  const answers = [...reads];
  return {
    jobs: { read: () => Promise.resolve(answers.shift()) },
    queue: { submission: () => Promise.resolve(record) },
    started: { has: () => Promise.resolve(startedNow) },
  } as unknown as Pick<ApiDeps, 'jobs' | 'queue' | 'started'>;
}

it('a job its bridge started between the two reads is answered, not taken for an expired one', async () => {
  assert.deepEqual(await readJob(deps([undefined, running], true), id), running);
});

it('a job started once whose workflow is gone (retention) is expired: 410', async () => {
  await assert.rejects(readJob(deps([undefined, undefined], true), id), (err: { status?: number; code?: string }) => err.status === 410 && err.code === 'job_expired');
});

it('a job not started yet is answered from its submission record (Queued)', async () => {
  assert.equal((await readJob(deps([undefined], false), id))?.status, 'Queued');
});
