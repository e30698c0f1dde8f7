import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import type { TestStack } from '../helpers/stack';
import { startTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

// The worker talks to Docker through a TCP port that answers nothing at first (a real
// ECONNREFUSED, as when the daemon is down), then forwards to the real daemon.
describe('Docker unreachable when a step starts', () => {
  let stack: TestStack;
  let proxy: Server | undefined;
  const sockets = new Set<Socket>();
  let port: number;
  before(async () => {
    port = await freePort();
    stack = await startTestStack({ DOCKER_HOST: `tcp://127.0.0.1:${port}` });
  });
  after(async () => {
    await stack?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  });

  it('is retried by Temporal with backoff, and the job succeeds once Docker answers', async () => {
    const id = await submitJob(stack.apiUrl, { name: 'retry', steps: [{ id: 1, name: 'hello', image: images.busybox, script: 'echo after retry' }] });
    await new Promise((r) => setTimeout(r, 2500));
    proxy = createServer((client) => {
      const daemon = connect('/var/run/docker.sock');
      sockets.add(client).add(daemon);
      client.pipe(daemon).pipe(client);
      client.on('error', () => daemon.destroy());
      daemon.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy?.listen(port, '127.0.0.1', resolve));

    const job = await waitForEnd(stack.apiUrl, id, 60_000);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail?.trim(), 'after retry');
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    const started = (history.events ?? []).find((e) => e.activityTaskStartedEventAttributes);
    const attempt = started?.activityTaskStartedEventAttributes?.attempt ?? 0;
    assert.ok(attempt >= 2, `runStep succeeded on attempt ${attempt}; expected a retry`);
    const failure = started?.activityTaskStartedEventAttributes?.lastFailure?.message ?? '';
    assert.match(failure, /ECONNREFUSED/);
    await assertNoLeaks([id]);
  });
});
