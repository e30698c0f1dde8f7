import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { splitCancellation } from '../../src/activities/createActivities';
import { resumePoint } from '../../src/api/routes/logs';
import { sseEvents } from '../../src/cli/sse';

describe('splitCancellation', () => {
  it('turns a cancellation for worker shutdown into a detach, leaving the step running', () => {
    const c = new AbortController();
    const { stop, detach } = splitCancellation(c.signal);
    c.abort(new CancelledFailure('WORKER_SHUTDOWN'));
    assert.equal(detach.aborted, true);
    assert.equal(stop.aborted, false);
  });

  it('turns any other cancellation (the job cancelled, a timeout) into a stop', () => {
    for (const reason of ['CANCELLED', 'TIMED_OUT', 'NOT_FOUND', 'HEARTBEAT_DETAILS_CONVERSION_FAILED']) {
      const c = new AbortController();
      const { stop, detach } = splitCancellation(c.signal);
      c.abort(new CancelledFailure(reason));
      assert.deepEqual([stop.aborted, detach.aborted], [true, false], reason);
    }
  });

  it('routes a signal that was aborted before it was split', () => {
    const c = new AbortController();
    c.abort(new CancelledFailure('WORKER_SHUTDOWN'));
    assert.equal(splitCancellation(c.signal).detach.aborted, true);
  });
});

describe('resumePoint (Last-Event-ID of the live log stream)', () => {
  it('reads a line number and ignores anything else', () => {
    assert.equal(resumePoint('12'), 12);
    assert.equal(resumePoint(' 7 '), 7);
    for (const bad of [undefined, '', '-1', '1.5', 'abc', '1e3', '9'.repeat(16)]) assert.equal(resumePoint(bad), 0, String(bad));
  });
});

describe('sseEvents', () => {
  it('keeps each event id', async () => {
    async function* body() {
      yield new TextEncoder().encode('id: 3\nevent: log\ndata: {"message":"a"}\n\nevent: shut');
      yield new TextEncoder().encode('down\ndata: {}\n\n');
    }
    const events = [];
    for await (const e of sseEvents(body())) events.push(e);
    assert.deepEqual(events, [
      { event: 'log', data: { message: 'a' }, id: '3' },
      { event: 'shutdown', data: {} },
    ]);
  });
});
