import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobIdPattern } from '../../src/job';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../../src/temporal/cursor';

describe('list cursors', () => {
  const query = "WorkflowType = 'buildJob' AND TaskQueue = 'hades'";
  const token = Buffer.from('{"CloseTime":"2026-12-02T00:00:00Z","RunID":"abc"}');

  it('hands back the token it wrapped, for the same query', () => {
    assert.deepEqual(decodeCursor(encodeCursor(token, query), query), token);
  });

  it('refuses made-up, altered and truncated cursors, and one from a list with another filter', () => {
    const cursor = encodeCursor(token, query);
    const altered = `${Buffer.from('{"CloseTime":"1999"}').toString('base64url')}${cursor.slice(cursor.lastIndexOf('.'))}`;
    for (const bad of ['', '0'.repeat(4096), 'AAAA', 'eyJ4IjoxfQ', '.', `.${cursor.split('.')[1]}`, altered, cursor.slice(0, -1), `${cursor}x`]) {
      assert.throws(() => decodeCursor(bad, query), InvalidCursorError, JSON.stringify(bad.slice(0, 40)));
    }
    assert.throws(() => decodeCursor(cursor, `${query} AND HadesStatus = 'Failed'`), InvalidCursorError);
  });
});

describe('job ids', () => {
  it('are subject and key safe: no dot at the end or twice in a row', () => {
    for (const ok of ['a', 'job-1', '6f1d0c8e-2f7a-4b8e-9a51-0d6c1f2a3b4c', 'hades_jobs-42', 'a.b.c', 'A'.repeat(128)]) assert.ok(jobIdPattern.test(ok), ok);
    for (const bad of ['', '.a', 'a.', 'a..b', '-a', 'a b', 'a*', 'a>', 'ä', 'A'.repeat(129)]) assert.ok(!jobIdPattern.test(bad), bad);
  });
});
