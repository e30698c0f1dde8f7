import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSubmission } from '../../src/bridge/intake';
import { redeliveryBackoffSeconds } from '../../src/queue/subjects';

const base = { stream: 'HADES_JOBS', streamSequence: 42, timestampMs: Date.parse('2026-01-01T00:00:00Z') };
const body = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const job = { name: 'j', steps: [{ image: 'busybox:1' }] };

describe('readSubmission', () => {
  it('takes the id from Nats-Msg-Id, then the body, then the stream position', () => {
    const fromHeader = readSubmission({ ...base, data: body({ ...job, id: '6f1d0c8e-2f7a-4b8e-9a51-0d6c1f2a3b4c' }), msgId: 'from-header' });
    assert.ok(fromHeader.ok && fromHeader.spec.id === 'from-header');
    const fromBody = readSubmission({ ...base, data: body({ ...job, id: '6f1d0c8e-2f7a-4b8e-9a51-0d6c1f2a3b4c' }) });
    assert.ok(fromBody.ok && fromBody.spec.id === '6f1d0c8e-2f7a-4b8e-9a51-0d6c1f2a3b4c');
    const derived = readSubmission({ ...base, data: body(job) });
    assert.ok(derived.ok && derived.spec.id === 'hades_jobs-42');
  });
  it('gives a reason for what can never become a job', () => {
    const notJson = readSubmission({ ...base, data: new TextEncoder().encode('{oops') });
    assert.ok(!notJson.ok && notJson.reason.startsWith('not JSON'));
    const invalid = readSubmission({ ...base, data: body({ steps: [] }) });
    assert.ok(!invalid.ok && invalid.reason.includes('name') && invalid.reason.includes('steps'));
    const badId = readSubmission({ ...base, data: body(job), msgId: 'has space' });
    assert.ok(!badId.ok && badId.reason.includes('not valid'));
  });
  it("the bridge consumer's redelivery backoff doubles from 2 s, capped", () => {
    assert.deepEqual(redeliveryBackoffSeconds(30), [2, 4, 8, 16, 30]);
    assert.deepEqual(redeliveryBackoffSeconds(5), [2, 4, 5]);
    assert.deepEqual(redeliveryBackoffSeconds(2), [2]);
    assert.deepEqual(redeliveryBackoffSeconds(1), [1]);
  });
});
