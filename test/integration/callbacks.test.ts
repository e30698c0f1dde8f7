import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { after, describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { request, waitForEnd } from '../helpers/http';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A callback receiver that answers each request with the next status of its script (then 200). */
class Receiver {
  readonly received: Received[] = [];
  private server!: Server;
  port = 0;
  constructor(private readonly script: number[]) {}
  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const status = this.script.shift() ?? 200;
        this.received.push({ status, headers: req.headers, body: JSON.parse(text) as unknown });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }
  async until(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(this.received.length >= count, `receiver got ${this.received.length} of ${count} requests`);
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('callback_url', () => {
  const fixture = useTestStack({ CALLBACK_INITIAL_INTERVAL_SECONDS: '0.2', CALLBACK_MAX_INTERVAL_SECONDS: '1' });
  const receivers: Receiver[] = [];
  const receiver = async (script: number[]) => {
    const r = new Receiver(script);
    await r.start();
    receivers.push(r);
    return r;
  };
  after(async () => {
    for (const r of receivers) await r.stop();
  });

  it("reaches a receiver that fails its first attempts, with Hades's body and the job's id and status in headers", async () => {
    const r = await receiver([503, 503, 500]);
    const id = await submitJob(
      fixture.stack.apiUrl,
      {
        name: 'calls back',
        callback_url: `http://127.0.0.1:${r.port}/hook`,
        steps: [
          { id: 1, name: 'one', image: images.busybox, script: 'echo first' },
          { id: 2, name: 'two', image: images.busybox, script: 'echo second' },
        ],
      },
      fixture.jobIds,
    );
    await r.until(4);
    const delivered = r.received[3];
    assert.equal(delivered?.status, 200);
    assert.equal(delivered?.headers['x-hades-job-id'], id);
    assert.equal(delivered?.headers['x-hades-job-status'], 'Succeeded');
    const body = delivered?.body as { job_id: string; container_id: string; logs: { message: string; output_stream: string; timestamp: string }[] }[];
    assert.equal(body.length, 2);
    assert.deepEqual(body.map((l) => [l.job_id, l.logs.map((e) => e.message)]), [
      [id, ['first']],
      [id, ['second']],
    ]);
    assert.equal(typeof body[0]?.container_id, 'string');
    assert.deepEqual(Object.keys(body[0]?.logs[0] ?? {}).sort(), ['message', 'output_stream', 'timestamp']);
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id)).status, 'Succeeded');
    // Temporal keeps the workflow open until the callback is delivered, then it completes.
    const deadline = Date.now() + 10_000;
    while ((await fixture.stack.client.workflow.getHandle(id).describe()).status.name === 'RUNNING' && Date.now() < deadline) await new Promise((x) => setTimeout(x, 100));
    assert.equal((await fixture.stack.client.workflow.getHandle(id).describe()).status.name, 'COMPLETED');
    await new Promise((x) => setTimeout(x, 500));
    assert.equal(r.received.length, 4, 'delivered once, then no more');
  });

  it('is sent for a cancelled job too, and a 404 is not retried', async () => {
    const r = await receiver([404]);
    const id = await submitJob(
      fixture.stack.apiUrl,
      { name: 'cancelled with callback', callback_url: `http://127.0.0.1:${r.port}/gone`, steps: [{ id: 1, name: 'long', image: images.busybox, script: 'sleep 60' }] },
      fixture.jobIds,
    );
    await inspectRunningStep(id, 0);
    assert.equal((await request(`${fixture.stack.apiUrl}/jobs/${id}/cancel`, { method: 'POST' })).status, 202);
    await r.until(1);
    assert.equal(r.received[0]?.headers['x-hades-job-status'], 'Cancelled');
    const deadline = Date.now() + 10_000;
    while ((await fixture.stack.client.workflow.getHandle(id).describe()).status.name === 'RUNNING' && Date.now() < deadline) await new Promise((x) => setTimeout(x, 100));
    assert.equal((await fixture.stack.client.workflow.getHandle(id).describe()).status.name, 'CANCELLED');
    assert.equal(r.received.length, 1);
  });
});

describe('a callback that takes its time', () => {
  // One step at a time (CONCURRENCY 1), and a receiver that holds the first callback open.
  const fixture = useTestStack({ CONCURRENCY: '1', CALLBACK_TIMEOUT_SECONDS: '120' });
  const held: { release(): void }[] = [];
  let receiver: Server | undefined;
  after(async () => {
    for (const h of held) h.release();
    await new Promise((r) => receiver?.close(r));
  });

  it('does not take the slot of a step: the next job runs while it is still being delivered', async () => {
    const port = await freePort();
    const arrived = new Promise<void>((resolve) => {
      receiver = createServer((_req, res) => {
        held.push({ release: () => res.end() });
        resolve();
      });
    });
    await new Promise<void>((resolve) => receiver?.listen(port, '127.0.0.1', resolve));
    const { apiUrl } = fixture.stack;
    const first = await submitJob(apiUrl, { name: 'calls back slowly', callback_url: `http://127.0.0.1:${port}/hook`, steps: [{ image: images.busybox, script: 'true' }] }, fixture.jobIds);
    await arrived;
    const next = await submitJob(apiUrl, { name: 'runs meanwhile', steps: [{ image: images.busybox, script: 'echo ran' }] }, fixture.jobIds);
    const job = await waitForEnd(apiUrl, next, 60_000);
    assert.equal(job.status, 'Succeeded');
    assert.equal(held.length, 1, 'the first job’s callback is still held open');
    for (const h of held) h.release();
    assert.equal((await waitForEnd(apiUrl, first)).status, 'Succeeded');
  });
});
