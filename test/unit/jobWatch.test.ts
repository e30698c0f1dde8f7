import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createJobWatch } from '../../src/api/stream/jobWatch';
import type { JobState } from '../../src/job';

const job = (id: string, status: JobState['status']): JobState => ({ id, status }) as JobState;

/** Lets the promise callbacks that a tick started run to their end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('createJobWatch', () => {
  it('reads a job once per interval however many streams follow it, and stops when the last leaves', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const reads: string[] = [];
      const watch = createJobWatch({ intervalMs: 1000, read: (id) => (reads.push(id), Promise.resolve(job(id, 'Running'))) });
      const seen: number[] = Array.from({ length: 10 }, () => 0);
      const unsubscribe = seen.map((_, i) => watch.subscribe('a', () => seen[i]!++));
      const other = watch.subscribe('b', () => undefined);

      mock.timers.tick(1000);
      await settle();
      assert.deepEqual(reads.sort(), ['a', 'b']);
      assert.deepEqual(seen, Array.from({ length: 10 }, () => 1), 'every follower hears the one read');

      for (const u of unsubscribe.slice(0, 9)) u();
      mock.timers.tick(1000);
      await settle();
      assert.equal(reads.filter((r) => r === 'a').length, 2);
      assert.equal(seen[9], 2);
      assert.equal(seen[0], 1, 'a follower that left hears nothing more');

      unsubscribe[9]!();
      other();
      mock.timers.tick(5000);
      await settle();
      assert.equal(reads.length, 4, 'no reads once nobody follows');
    } finally {
      mock.timers.reset();
    }
  });

  it('does not ask again while a read is still out, and logs a failing read once until one succeeds', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      let answer: ((j: JobState) => void) | undefined;
      let fail = false;
      let reads = 0;
      const errors: unknown[] = [];
      const watch = createJobWatch({
        intervalMs: 100,
        logError: (err) => errors.push(err),
        read: (id) => {
          reads++;
          if (fail) return Promise.reject(new Error('Temporal away'));
          return new Promise<JobState>((resolve) => (answer = () => resolve(job(id, 'Succeeded'))));
        },
      });
      const states: (string | undefined)[] = [];
      const unsubscribe = watch.subscribe('slow', (j) => states.push(j?.status));
      mock.timers.tick(100);
      mock.timers.tick(100);
      mock.timers.tick(100);
      assert.equal(reads, 1, 'one read at a time');
      answer?.(job('slow', 'Succeeded'));
      await settle();
      assert.deepEqual(states, ['Succeeded']);

      fail = true;
      for (let i = 0; i < 3; i++) {
        mock.timers.tick(100);
        await settle();
      }
      assert.equal(errors.length, 1, 'a failing read is logged once');
      fail = false;
      mock.timers.tick(100);
      answer?.(job('slow', 'Succeeded'));
      await settle();
      fail = true;
      mock.timers.tick(100);
      await settle();
      assert.equal(errors.length, 2, 'logged again after a read succeeded in between');
      unsubscribe();
    } finally {
      mock.timers.reset();
    }
  });
});
