import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import { basicAuth } from '../../src/api/auth';

function attempt(handler: ReturnType<typeof basicAuth>, authorization?: string): { passed: boolean; status?: number } {
  let outcome: { passed: boolean; status?: number } = { passed: false };
  const req = { headers: authorization === undefined ? {} : { authorization } } as Request;
  const res = { setHeader: () => undefined } as unknown as Response;
  const next: NextFunction = (err?: unknown) => {
    outcome = err ? { passed: false, status: (err as { status?: number }).status } : { passed: true };
  };
  handler(req, res, next);
  return outcome;
}

const basic = (user: string, key: string) => `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;

describe('basicAuth', () => {
  it('lets the right credentials through and counts every refusal', () => {
    let failures = 0;
    const handler = basicAuth('s3cret-key', () => failures++);
    assert.deepEqual(attempt(handler, basic('hades', 's3cret-key')), { passed: true });
    // Wrong key of the same length, of another length, wrong user, no header, not Basic, bad base64.
    for (const header of [basic('hades', 's3cret-kex'), basic('hades', 's3cret'), basic('hades', 's3cret-key-and-more'), basic('other', 's3cret-key'), undefined, 'Bearer x', 'Basic %%%']) {
      assert.deepEqual(attempt(handler, header), { passed: false, status: 401 }, String(header));
    }
    assert.equal(failures, 7);
  });

  it('lets everything through without a key', () => {
    assert.deepEqual(attempt(basicAuth(undefined), undefined), { passed: true });
  });
});
