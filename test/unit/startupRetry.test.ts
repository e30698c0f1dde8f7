import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransientNatsError, withStartupRetry } from '../../src/main/startupRetry';

const natsError = (code: string, message: string) => Object.assign(new Error(message), { name: 'NatsError', code });

describe('withStartupRetry', () => {
  it('tries JetStream set-up again while the cluster answers late, and logs each try', async () => {
    let calls = 0;
    const logged: string[] = [];
    const value = await withStartupRetry(
      'the job queue set-up',
      () => (++calls < 3 ? Promise.reject(natsError('TIMEOUT', 'TIMEOUT')) : Promise.resolve('made')),
      (msg) => logged.push(msg),
      [1, 1, 1],
    );
    assert.equal(value, 'made');
    assert.equal(calls, 3);
    assert.deepEqual(logged, ['the job queue set-up failed; trying again', 'the job queue set-up failed; trying again']);
  });

  it('fails at once on what waiting cannot mend, and after its last pause on what it can', async () => {
    let calls = 0;
    await assert.rejects(withStartupRetry('x', () => (calls++, Promise.reject(new Error('stream name already in use with a different configuration'))), () => undefined, [1, 1]), /different configuration/);
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(withStartupRetry('x', () => (calls++, Promise.reject(natsError('503', 'no responders'))), () => undefined, [1, 1]), /no responders/);
    assert.equal(calls, 3);
  });

  it('knows the transient errors', () => {
    assert.ok(isTransientNatsError(natsError('TIMEOUT', 'TIMEOUT')));
    assert.ok(isTransientNatsError(new Error('JetStream system temporarily unavailable: no suitable peers for placement')));
    assert.ok(!isTransientNatsError(new Error('invalid stream config')));
  });
});
