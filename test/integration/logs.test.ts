import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import type { StepLogs } from '../../src/logs/types';
import { request, waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { readSse } from '../helpers/sse';
import { useTestStack } from '../helpers/stack';
import { until } from '../helpers/nats';
import { images } from '../helpers/testEnv';

type LogsBody = { logs: StepLogs[] };

describe('step logs', () => {
  const fixture = useTestStack({ LOG_MAX_BYTES_PER_STEP: '2M' });

  async function logsOf(id: string): Promise<StepLogs[]> {
    const res = await request<LogsBody>(`${fixture.stack.apiUrl}/jobs/${id}/logs`);
    assert.equal(res.status, 200);
    return res.body.logs;
  }

  it("answers in Hades's shape, per step, in order, with each line's stream", async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      {
        name: 'two steps',
        steps: [
          { id: 1, name: 'first', image: images.busybox, script: 'echo one; echo two >&2; echo three' },
          { id: 2, name: 'second', image: images.busybox, script: 'echo four' },
        ],
      },
      fixture.jobIds,
    );
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id)).status, 'Succeeded');
    const logs = await logsOf(id);
    assert.equal(logs.length, 2);
    assert.deepEqual(
      logs.map((s) => [s.job_id, s.step_id, s.step_name, typeof s.container_id]),
      [
        [id, '1', 'first', 'string'],
        [id, '2', 'second', 'string'],
      ],
    );
    // Docker reads stdout and stderr through separate pipes: order holds within each stream.
    const lines = logs[0]?.logs ?? [];
    assert.deepEqual(lines.filter((l) => l.output_stream === 'stdout').map((l) => l.message), ['one', 'three']);
    assert.deepEqual(lines.filter((l) => l.output_stream === 'stderr').map((l) => l.message), ['two']);
    for (const line of logs[0]?.logs ?? []) assert.ok(!Number.isNaN(Date.parse(line.timestamp)));
  });

  it('streams live over SSE: a client that connects mid-job misses nothing, and the stream ends with the job', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      { name: 'live', steps: [{ id: 1, name: 'ticker', image: images.busybox, script: 'for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.4; done' }] },
      fixture.jobIds,
    );
    // Connect only once the first lines were written.
    const deadline = Date.now() + 30_000;
    while (!(await logsOf(id)).some((s) => s.logs.some((l) => l.message === 'tick 2')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const events = await readSse(`${fixture.stack.apiUrl}/jobs/${id}/logs/stream`);
    const lines = events.filter((e) => e.event === 'log').map((e) => (e.data as { message: string }).message);
    assert.deepEqual(lines, ['tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5', 'tick 6']);
    const end = events.at(-1);
    assert.equal(end?.event, 'end');
    assert.equal((end?.data as { status: string }).status, 'Succeeded');
  });

  it('survives 50 MB of output in bounded memory, keeping the first part and marking the cut', async () => {
    // Live heap (after a collection) while 50 MB pass: what the pipeline holds, not garbage.
    const gc = (globalThis as { gc?: () => void }).gc;
    assert.ok(gc, 'run with --expose-gc (npm test does)');
    const live = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = live();
    let peak = before;
    // Every 250 ms: each sample is a full collection, which slows everything in this process.
    const sampler = setInterval(() => (peak = Math.max(peak, live())), 250);
    try {
      const id = await submitJob(
        fixture.stack.apiUrl,
        { name: 'chatty', steps: [{ id: 1, name: 'flood', image: images.busybox, script: "yes 'the quick brown fox jumps over the lazy dog 0123456789' | head -c 52428800; echo done" }] },
        fixture.jobIds,
      );
      // A bound for a busy machine (CI runs two test files at once, each with its own stack).
      const job = await waitForEnd(fixture.stack.apiUrl, id, 300_000);
      assert.equal(job.status, 'Succeeded');
      const lines = (await logsOf(id))[0]?.logs ?? [];
      const kept = lines.reduce((n, l) => n + l.message.length + 1, 0);
      assert.ok(kept <= 2 * 1024 * 1024 + 200, `kept ${kept} bytes`);
      assert.ok(kept > 1.9 * 1024 * 1024, `kept ${kept} bytes`);
      const text = 'the quick brown fox jumps over the lazy dog 0123456789';
      assert.deepEqual([...new Set(lines.slice(0, -1).map((l) => l.message))], [text], 'every kept line whole and in order');
      const last = lines.at(-1);
      assert.equal(last?.truncated, true);
      assert.match(last?.message ?? '', /output cut: \d+ bytes past the limit/);
      assert.match(job.steps[0]?.outputTail ?? '', /output cut/);
    } finally {
      clearInterval(sampler);
    }
    // Worker, API and test share this process: the 50 MB never sit in memory at once.
    assert.ok(peak - before < 32 * 1024 * 1024, `live heap grew by ${Math.round((peak - before) / 1024 / 1024)} MiB`);
  });

  it('cuts one 5 MB line, marked, and shows binary and non-UTF-8 bytes as replacement characters', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      {
        name: 'odd output',
        steps: [
          {
            id: 1,
            name: 'odd',
            image: images.busybox,
            script: "head -c 5242880 /dev/zero | tr '\\0' a; echo; echo after; printf 'ok\\377\\376bad\\n'; head -c 4096 /dev/urandom; echo; echo end",
          },
        ],
      },
      fixture.jobIds,
    );
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id, 60_000)).status, 'Succeeded');
    const lines = (await logsOf(id))[0]?.logs ?? [];
    assert.equal(lines[0]?.truncated, true);
    assert.equal(lines[0]?.message.length, 64 * 1024);
    assert.equal(lines[1]?.message, 'after');
    assert.equal(lines[2]?.message, 'ok\uFFFD\uFFFDbad');
    assert.equal(lines.at(-1)?.message, 'end');
  });

  it('masks values of secret-looking metadata in logs and in the status', async () => {
    const id = await submitJob(
      fixture.stack.apiUrl,
      {
        name: 'secrets',
        metadata: { API_TOKEN: 'tok-123456', PLAIN: 'visible-value' },
        steps: [{ id: 1, name: 'leaky', image: images.busybox, metadata: { DB_PASSWORD: 'hunter2hunter2' }, script: 'echo "token=$API_TOKEN pw=$DB_PASSWORD plain=$PLAIN"' }],
      },
      fixture.jobIds,
    );
    const job = await waitForEnd(fixture.stack.apiUrl, id);
    assert.equal(job.steps[0]?.outputTail?.trim(), 'token=*** pw=*** plain=visible-value');
    assert.equal((await logsOf(id))[0]?.logs[0]?.message, 'token=*** pw=*** plain=visible-value');
  });

  it('streams a large log as it reads it, and holds back a client that does not read', async () => {
    // Three steps of 2,000 lines of 999 x's each: 6 MB of log, some 7 MB as SSE events.
    const script = `yes "$(head -c 999 /dev/zero | tr '\\0' x)" | head -n 2000`;
    const steps = [1, 2, 3].map((n) => ({ id: n, name: `writer ${n}`, image: images.busybox, script }));
    const id = await submitJob(fixture.stack.apiUrl, { name: 'big log', steps }, fixture.jobIds);
    assert.equal((await waitForEnd(fixture.stack.apiUrl, id, 120_000)).status, 'Succeeded');

    // GET /jobs/{id}/logs: written as it is read (chunked, no length known up front), same shape.
    const res = await fetch(`${fixture.stack.apiUrl}/jobs/${id}/logs`);
    assert.equal(res.headers.get('content-length'), null);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const body = (await res.json()) as LogsBody;
    assert.deepEqual(body.logs.map((s) => [s.step_id, s.logs.length, new Set(s.logs.map((l) => l.message.length)).size]), [['1', 2000, 1], ['2', 2000, 1], ['3', 2000, 1]]);

    // The live stream to a client that stops reading: the API waits for it (counted in
    // hades_log_stream_waits_total) instead of buffering the rest; once it reads, all arrives.
    const waits = async () => Number(/^hades_log_stream_waits_total (\d+)/m.exec(await (await fetch(`${fixture.stack.apiUrl}/metrics`)).text())?.[1] ?? 0);
    const before = await waits();
    const url = new URL(`${fixture.stack.apiUrl}/jobs/${id}/logs/stream`);
    const socket = connect(Number(url.port), url.hostname);
    let text = '';
    try {
      socket.pause();
      socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
      await until('the API to wait for the paused client', async () => (await waits()) > before, 60_000, 100);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.resume();
      await new Promise((resolve) => socket.on('end', resolve));
    } finally {
      socket.destroy();
    }
    assert.equal((text.match(/^event: log$/gm) ?? []).length, 6000);
    assert.match(text, /event: end\ndata: \{"job_id":"[^"]+","status":"Succeeded"/);
  });

  it('answers 404 for the logs of an unknown job', async () => {
    const res = await request(`${fixture.stack.apiUrl}/jobs/no-such-job/logs`);
    assert.equal(res.status, 404);
  });
});
