import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quantile, summarize, target } from '../../bench/stats';

describe('bench figures', () => {
  it('quantiles are nearest-rank over the sorted samples', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    assert.deepEqual([quantile(xs, 0.5), quantile(xs, 0.95), quantile(xs, 0), quantile(xs, 1)], [5, 10, 1, 10]);
    assert.ok(Number.isNaN(quantile([], 0.5)));
    assert.deepEqual(summarize([3, 1, 2]), { n: 3, median: 2, p95: 3, p99: 3, min: 1, max: 3 });
  });
  it('a target is met on the right side of its limit, never by a missing figure', () => {
    assert.equal(target('ratio', 1.1, 'x', 'max', 1.15).met, true);
    assert.equal(target('ratio', 1.2, 'x', 'max', 1.15).met, false);
    assert.equal(target('rate', 2900, 'req/s', 'min', 3000).met, false);
    assert.equal(target('rate', NaN, 'req/s', 'min', 3000).met, false);
  });
});
