import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import { after, describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { run as runCli } from '../../src/cli/main';
import { sseEvents } from '../../src/cli/sse';
import type { SseEvent } from '../../src/cli/sse';
import { assertNoLeaks } from '../helpers/docker';
import { spawnHades } from '../helpers/hadesProcess';
import { workerProcessRun } from '../helpers/workerProcess';
import type { HadesProcess } from '../helpers/hadesProcess';
import { request, waitForEnd } from '../helpers/http';
import { submitJob, waitForLogLine } from '../helpers/jobs';
import { consumerState, until } from '../helpers/nats';
import { startTestStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import { activityAttempts, runsOf } from '../helpers/temporal';
import { images } from '../helpers/testEnv';

// Graceful shutdown on SIGTERM, with each role in its own process as production runs it.

function job(name: string, script: string) {
  return { name, steps: [{ id: 1, name: 'only', image: images.busybox, script }] };
}

/** Resolves once a TCP connection to the port is refused (nothing listens any more). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('an API process stopped with SIGTERM', () => {
  let stack: TestStack | undefined;
  const processes: HadesProcess[] = [];
  const jobIds: string[] = [];
  after(async () => {
    for (const p of processes) p.kill();
    await stack?.stop();
    await assertNoLeaks(jobIds);
  });

  it('stops accepting, answers the request in flight, ends live log streams with a final event, and exits 0', async () => {
    stack = await startTestStack({ HADES_ROLES: 'api,bridge,worker' });
    const api = spawnHades({ ...stack.env, HADES_ROLES: 'api', API_PORT: '0' });
    processes.push(api);
    const port = Number((await api.logged('api listening')).port);
    const url = `http://127.0.0.1:${port}`;

    const id = await submitJob(url, job('followed', 'echo started; sleep 3; echo finished'), jobIds);
    // A live log stream, read until its first line.
    const stream = await fetch(`${url}/jobs/${id}/logs/stream`);
    assert.equal(stream.status, 200);
    const events: SseEvent[] = [];
    const reading = (async () => {
      for await (const e of sseEvents(stream.body as unknown as AsyncIterable<Uint8Array>)) events.push(e);
    })();
    await until('the first line on the stream', async () => events.some((e) => e.event === 'log'), 60_000, 50);

    // A submission in flight: the API has taken its headers (it answered 100 Continue), not its body.
    const body = JSON.stringify(job('in flight', 'echo submitted during shutdown'));
    const post = httpRequest(`${url}/build`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' } });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      post.once('response', (res: IncomingMessage) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      post.once('error', reject);
    });
    await new Promise<void>((resolve) => post.once('continue', resolve));

    api.kill('SIGTERM');
    await reading;
    const last = events.at(-1);
    assert.equal(last?.event, 'shutdown', JSON.stringify(events));
    assert.equal(events.filter((e) => e.event === 'end').length, 0);
    // The stream's final event comes after the listening socket closed: new connections are refused.
    assert.equal(await refused(port), true, 'a new connection is refused once the API is stopping');

    post.end(body);
    const res = await answered;
    assert.equal(res.status, 200, res.body);
    const late = (JSON.parse(res.body) as { job_id: string }).job_id;
    jobIds.push(late);
    assert.deepEqual(await api.exited, { code: 0, signal: null }, api.output().slice(-3000));

    // Both jobs run to the end through the other API replica.
    assert.equal((await waitForEnd(stack.apiUrl, id)).status, 'Succeeded');
    const lateJob = await waitForEnd(stack.apiUrl, late);
    assert.equal(lateJob.status, 'Succeeded');
    assert.equal(lateJob.steps[0]?.outputTail?.trim(), 'submitted during shutdown');
  });

  it('`hades logs --follow` carries on through a restart of the API, each line shown once', async () => {
    stack ??= await startTestStack({ HADES_ROLES: 'api,bridge,worker' });
    const port = await freePort();
    const first = spawnHades({ ...stack.env, HADES_ROLES: 'api', API_PORT: String(port) });
    processes.push(first);
    await first.logged('api listening');
    const url = `http://127.0.0.1:${port}`;
    const id = await submitJob(url, job('followed across a restart', 'for i in 1 2 3; do echo before $i; done; sleep 4; for i in 1 2 3; do echo after $i; done'), jobIds);
    await waitForLogLine(url, id, 'before 3');

    const out: string[] = [];
    const err: string[] = [];
    const following = runCli(['logs', id, '--follow', '--url', url], { out: (s) => out.push(s), err: (s) => err.push(s), env: {}, stdin: () => '' });
    await until('the CLI to print the first lines', async () => out.some((l) => l.includes('before 3')), 30_000, 50);
    first.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null }, first.output().slice(-3000));
    const second = spawnHades({ ...stack.env, HADES_ROLES: 'api', API_PORT: String(port) });
    processes.push(second);

    assert.equal(await following, 0, err.join('\n'));
    const printed = out.join('\n');
    for (const line of ['before 1', 'before 2', 'before 3', 'after 1', 'after 2', 'after 3']) {
      assert.equal(printed.split(line).length - 1, 1, `"${line}" shown once:\n${printed}`);
    }
    second.kill('SIGTERM');
    assert.deepEqual(await second.exited, { code: 0, signal: null });
  });
});

describe('a bridge process stopped with SIGTERM', () => {
  it('finishes the starts in hand, gives back the rest, and another bridge starts each job exactly once', async () => {
    const api = await startTestStack({ HADES_ROLES: 'api' });
    let second: TestStack | undefined;
    let bridge: HadesProcess | undefined;
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await submitJob(api.apiUrl, job(`queued ${i}`, 'true')));
      // Each start takes a second: SIGTERM comes with starts in flight and messages pulled but not begun.
      bridge = spawnHades({ ...api.env, HADES_ROLES: 'bridge', HADES_FAULT: 'bridge-slow-start' });
      const startedSoFar = async () => (await api.client.workflow.count(`TaskQueue = '${api.config.TEMPORAL_TASK_QUEUE}'`)).count;
      await until('a first job to start', async () => (await startedSoFar()) > 0, 60_000, 100);
      bridge.kill('SIGTERM');
      assert.deepEqual(await bridge.exited, { code: 0, signal: null }, bridge.output().slice(-3000));
      const started = await startedSoFar();
      assert.ok(started < 30, `it stopped consuming: ${started} of 30 started`);

      second = await startTestStack({ ...api.env, HADES_ROLES: 'bridge' });
      await until(
        'every message to be acked',
        async () => {
          const s = await consumerState(api.config);
          return s.pending === 0 && s.ackPending === 0;
        },
        120_000,
        250,
      );
      assert.deepEqual(await Promise.all(ids.map((id) => runsOf(api.client, id))), ids.map(() => 1), 'each job started exactly once');
    } finally {
      bridge?.kill();
      await second?.stop();
      // No worker ran: the workflows wait on a task queue nobody polls.
      for await (const w of api.client.workflow.list({ query: `TaskQueue = '${api.config.TEMPORAL_TASK_QUEUE}' AND ExecutionStatus = 'Running'` })) {
        await api.client.workflow.getHandle(w.workflowId).terminate('test over').catch(() => undefined);
      }
      await api.stop();
    }
  });
});

describe('a worker process stopped with SIGTERM', () => {
  const run = workerProcessRun({}, assertNoLeaks);

  it('stops polling, lets the running step finish within the grace time, and exits 0', async () => {
    const { stack, worker, jobIds } = await run.start({ SHUTDOWN_GRACE_SECONDS: '60' });
    const id = await submitJob(
      stack.apiUrl,
      {
        name: 'finishes its step',
        steps: [
          { id: 1, name: 'running', image: images.busybox, script: 'echo started; sleep 3; echo finished' },
          { id: 2, name: 'next', image: images.busybox, script: 'echo second step ran' },
        ],
      },
      jobIds,
    );
    await waitForLogLine(stack.apiUrl, id, 'started');
    worker.kill('SIGTERM');
    assert.deepEqual(await worker.exited, { code: 0, signal: null }, worker.output().slice(-3000));

    // The step's result reached Temporal before the worker exited; the next step did not start on it.
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    assert.equal(events.filter((e) => e.activityTaskCompletedEventAttributes).length, 1, 'the running step completed');
    assert.equal((await request<{ status: string }>(`${stack.apiUrl}/jobs/${id}`)).body.status, 'Running');

    await run.secondWorker();
    const done = await waitForEnd(stack.apiUrl, id, 90_000);
    assert.equal(done.status, 'Succeeded', JSON.stringify(done));
    assert.equal(done.steps[0]?.outputTail, 'started\nfinished\n');
    assert.equal(done.steps[1]?.outputTail?.trim(), 'second step ran');
    assert.deepEqual(await activityAttempts(stack.client, id), ['runStep 1', 'runStep 1'], 'no step ran twice (the last one cleaned up after itself)');
  });
});
