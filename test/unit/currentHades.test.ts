import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { jobReference, readSubmission, referenceBytes } from '../../src/bridge/intake';
import { parseJobPayload } from '../../src/job';
import { currentHadesPayload } from '../../src/queue/jobQueue';
import { fromWire, toWire } from '../../src/logs/logWire';
import { feedMessages, maxReasonLength } from '../../src/queue/statusFeed';
import { streamVerdict, subjectCovers } from '../../src/queue/streams';

// What this project shares with the current Hades: its status feed, its id references, its Go
// clients' zero values, its streams. Pure rules; the integration tests drive them over NATS.

const names = { statusPrefix: 'hades.jobstatus', eventsPrefix: 'hades.jobevents' };
const at = '2026-12-02T10:00:00.000Z';
const id = '0f8e3c1a-5b2d-4c6e-8f90-a1b2c3d4e5f6';

describe('the status feed messages', () => {
  it("say a transition in the current Hades's words (bare id, reason header) and in this project's (JSON)", () => {
    const [hades, own] = feedMessages(names, { jobId: id, status: 'Failed', reason: 'pull of image x failed', at });
    assert.deepEqual(hades, { subject: 'hades.jobstatus.Failed', data: id, headers: { 'X-Hades-Reason': 'pull of image x failed' } });
    assert.equal(own.subject, `hades.jobevents.${id}`);
    assert.deepEqual(JSON.parse(own.data), { job_id: id, status: 'Failed', hades_status: 'Failed', reason: 'pull of image x failed', at });
  });
  it('map Cancelled to Stopped and TimedOut to Failed with a reason that says it timed out', () => {
    assert.equal(feedMessages(names, { jobId: id, status: 'Cancelled', at })[0].subject, 'hades.jobstatus.Stopped');
    const [timedOut, own] = feedMessages(names, { jobId: id, status: 'TimedOut', reason: 'job timed out after 5 s', at });
    assert.deepEqual([timedOut.subject, timedOut.headers], ['hades.jobstatus.Failed', { 'X-Hades-Reason': 'job timed out after 5 s' }]);
    assert.equal(JSON.parse(own.data).status, 'TimedOut');
    const stepTimeout = feedMessages(names, { jobId: id, status: 'TimedOut', reason: 'step "build" was stopped after 60 s', at })[0];
    assert.equal(stepTimeout.headers?.['X-Hades-Reason'], 'timed out: step "build" was stopped after 60 s');
    assert.equal(feedMessages(names, { jobId: id, status: 'TimedOut', at })[0].headers?.['X-Hades-Reason'], 'timed out');
  });
  it('carry no reason header without a reason, and a reason header of one line, cut to its limit', () => {
    assert.equal(feedMessages(names, { jobId: id, status: 'Queued', at })[0].headers, undefined);
    const long = feedMessages(names, { jobId: id, status: 'Failed', reason: `line one\r\nline two ${'x'.repeat(2000)}`, at })[0].headers?.['X-Hades-Reason'] ?? '';
    assert.equal(long.length, maxReasonLength);
    assert.ok(long.startsWith('line one line two x') && !/[\r\n]/.test(long));
  });
});

describe("the current Hades's job references", () => {
  it('are the 16 raw bytes of the id, or its 36-character text, either way the lower-case UUID', () => {
    const bytes = referenceBytes(id);
    assert.equal(bytes.length, 16);
    assert.equal(jobReference(bytes), id);
    assert.equal(jobReference(new TextEncoder().encode(id.toUpperCase())), id);
  });
  it('are never mistaken for a job, nor a job for them', () => {
    assert.equal(jobReference(new TextEncoder().encode(JSON.stringify({ name: 'j', steps: [] }))), undefined);
    assert.equal(jobReference(new TextEncoder().encode('x'.repeat(36))), undefined);
    assert.equal(jobReference(new Uint8Array(15)), undefined);
    assert.equal(jobReference(new TextEncoder().encode('{"name": "broken')), undefined, 'sixteen bytes of text');
    for (let i = 0; i < 100; i++) assert.ok(jobReference(referenceBytes(randomUUID())), 'every UUID has a byte that is not text');
    assert.throws(() => referenceBytes('not-a-uuid'), /not a UUID/);
  });
});

describe('a submission from the current Hades', () => {
  const base = { stream: 'HADES_JOBS', streamSequence: 7, timestampMs: Date.parse(at) };
  const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  // A payload as its Go API writes it: every field, an unset one as its zero value.
  const goPayload = {
    id,
    name: 'from go',
    timestamp: '0001-01-01T00:00:00Z',
    metadata: null,
    steps: [{ id: 1, name: 'build', image: 'busybox:1', script: 'true', continue_on_error: false, metadata: null, cpu_limit: 0, memory_limit: '', pids_limit: 0 }],
    callback_url: '',
    timeout_seconds: 0,
  };

  it("takes its priority from the subject, and reads a Go client's zero values as unset", () => {
    const read = readSubmission({ ...base, data: encode(goPayload), msgId: id, subjectLevel: 'low' });
    assert.ok(read.ok, read.ok ? '' : read.reason);
    assert.equal(read.spec.priority, 1);
    assert.equal(read.spec.timeoutSeconds, undefined);
    assert.equal(read.spec.callbackUrl, undefined);
    const step = read.spec.steps[0];
    assert.deepEqual([step?.cpuLimit, step?.memoryBytes, step?.pidsLimit, step?.metadata, step?.script], [undefined, undefined, undefined, {}, "true"]);
    const own = readSubmission({ ...base, data: encode({ ...goPayload, priority: 3 }), msgId: id, subjectLevel: 'low' });
    assert.ok(own.ok && own.spec.priority === 3, 'a priority in the payload wins');
  });
  it('names the job it could not read, so its end is said', () => {
    const bad = readSubmission({ ...base, data: new TextEncoder().encode('{'), msgId: id });
    assert.deepEqual([bad.ok, !bad.ok && bad.jobId], [false, id]);
    const invalid = readSubmission({ ...base, data: encode({ ...goPayload, steps: [] }), msgId: id });
    assert.deepEqual([invalid.ok, !invalid.ok && invalid.jobId], [false, id]);
  });
});

describe('POST /build written for the current Hades (SUBMIT_FORMAT=reference)', () => {
  it('refuses what its scheduler could not read: text step ids, fractional CPUs, a timestamp that is no RFC 3339 time', () => {
    const parsed = parseJobPayload({ name: 'j', timestamp: 'yesterday', steps: [{ id: 'a', image: 'busybox:1', cpu_limit: 0.5 }] }, { currentHadesFormat: true });
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.fields.map((f) => f.path).sort(), ['steps[0].cpu_limit', 'steps[0].id', 'timestamp']);
    assert.ok(parseJobPayload({ name: 'j', timestamp: 'yesterday', steps: [{ id: 'a', image: 'busybox:1', cpu_limit: 0.5 }] }).ok, 'the default format takes them');
  });
  it('writes the id, a timestamp and whole-number step ids into the payload', () => {
    const parsed = parseJobPayload({ name: 'j', steps: [{ image: 'busybox:1' }, { id: 7, image: 'busybox:1' }] });
    assert.ok(parsed.ok);
    const written = currentHadesPayload(id, parsed.payload, new Date(at));
    assert.deepEqual([written.id, written.timestamp, written.steps.map((s) => s.id)], [id, at, [1, 7]]);
  });
});

describe('log batches on NATS', () => {
  const batch = { jobId: id, containerId: 'c1', stepIndex: 0, stepId: '1', stepName: 'build', offset: 0, end: 6, lines: [{ timestamp: at, message: 'hello', output_stream: 'stdout' as const }] };
  it("travel in the current Hades's shape (job_id, container_id, logs), this project's fields beside", () => {
    const wire = toWire(batch);
    assert.deepEqual([wire.job_id, wire.container_id, wire.logs], [id, 'c1', batch.lines]);
    assert.deepEqual(fromWire(JSON.parse(JSON.stringify(wire))), batch);
  });
  it("carry a step's result when its activity cleans up after it (step_result), read back whole", () => {
    const result = { containerId: 'c1', exitCode: 3, startedAt: at, finishedAt: at, oomKilled: false, timedOut: false };
    const wire = toWire({ ...batch, result });
    assert.deepEqual(wire.step_result, result);
    assert.deepEqual(fromWire(JSON.parse(JSON.stringify(wire))), { ...batch, result });
    assert.equal('step_result' in toWire(batch), false, 'absent on every other batch');
  });
  it('are read in the shape they had before, still in the stream for its retention', () => {
    assert.deepEqual(fromWire(JSON.parse(JSON.stringify(batch))), batch);
  });
});

describe('streams shared with the current Hades', () => {
  it('NATS subject patterns cover what their wildcards take', () => {
    assert.ok(subjectCovers('hades.jobs.*', 'hades.jobs.high'));
    assert.ok(subjectCovers('hades.>', 'hades.jobs.high'));
    assert.ok(subjectCovers('hades.logs.*', 'hades.logs.*'));
    assert.ok(!subjectCovers('hades.logs.*', 'hades.logs.>'));
    assert.ok(!subjectCovers('hades.jobs.*', 'hades.jobs'));
    assert.ok(!subjectCovers('hades.jobs.*', 'hades.jobs.high.x'));
    assert.ok(!subjectCovers('hades.jobs.high', 'hades.jobs.*'));
  });
  it("are updated when ours, used as they are when someone else's takes our subjects, refused otherwise", () => {
    const wanted = { name: 'HADES_JOBS', subjects: ['hades.jobs.high', 'hades.jobs.medium', 'hades.jobs.low'] };
    const needs = wanted.subjects;
    assert.equal(streamVerdict({ subjects: ['x.*'], metadata: { 'hades.managed-by': 'hades-temporal' } }, wanted, needs).action, 'update');
    assert.equal(streamVerdict({ subjects: ['hades.jobs.low', 'hades.jobs.high', 'hades.jobs.medium'] }, wanted, needs).action, 'update', 'made by an earlier version');
    assert.equal(streamVerdict({ subjects: ['hades.jobs.*'] }, wanted, needs).action, 'keep');
    const refused = streamVerdict({ subjects: ['other.*'] }, wanted, needs);
    assert.ok(refused.action === 'refuse' && refused.reason.includes('does not take hades.jobs.high, hades.jobs.medium, hades.jobs.low'));
  });
});
