import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demux } from '../../src/activities/docker/demux';
import { LineSplitter } from '../../src/logs/lineSplitter';
import { maskSecrets, secretValues } from '../../src/logs/secrets';
import { StepLogSink } from '../../src/logs/stepLogSink';
import type { LogBatch } from '../../src/logs/types';

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

async function* chunks(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('demux', () => {
  it("reads Docker's multiplexed frames, whatever the chunking", async () => {
    const raw = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    for (const size of [1, 3, 7, 100]) {
      const seen: string[] = [];
      for await (const f of demux(chunks(raw, size))) seen.push(`${f.stream}:${f.data.toString()}`);
      const joined = seen.reduce<Record<string, string>>((acc, s) => {
        const [stream, ...rest] = s.split(':');
        acc[stream!] = (acc[stream!] ?? '') + rest.join(':');
        return acc;
      }, {});
      assert.deepEqual(joined, { stdout: 'out 1\nout 2\n', stderr: 'err 1\n' });
    }
  });

  it('hands on a run of frames of one stream as one chunk (Docker frames each log line)', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`);
    const raw = Buffer.concat([...lines.map((l) => frame(1, l)), frame(2, 'err\n'), frame(1, 'last\n')]);
    const seen: { stream: string; text: string }[] = [];
    for await (const f of demux(chunks(raw, 64 * 1024))) seen.push({ stream: f.stream, text: f.data.toString() });
    assert.deepEqual(seen, [
      { stream: 'stdout', text: lines.join('') },
      { stream: 'stderr', text: 'err\n' },
      { stream: 'stdout', text: 'last\n' },
    ]);
  });

  it('never hands on more than its chunk limit at once', async () => {
    const raw = Buffer.concat(Array.from({ length: 100 }, () => frame(1, 'x'.repeat(99) + '\n')));
    const sizes: number[] = [];
    for await (const f of demux(chunks(raw, raw.length), 1000)) sizes.push(f.data.length);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 100 * 100);
    assert.ok(Math.max(...sizes) <= 1000, `chunks of ${Math.max(...sizes)}`);
  });
});

describe('LineSplitter', () => {
  it('splits per stream, keeps partial lines across chunks, drops \\r', () => {
    const s = new LineSplitter(100);
    assert.deepEqual(s.push('stdout', Buffer.from('a\r\nb')), [{ stream: 'stdout', text: 'a', truncated: false }]);
    assert.deepEqual(s.push('stderr', Buffer.from('x\n')), [{ stream: 'stderr', text: 'x', truncated: false }]);
    assert.deepEqual(s.push('stdout', Buffer.from('c\n')), [{ stream: 'stdout', text: 'bc', truncated: false }]);
    assert.deepEqual(s.flush(), []);
  });
  it('cuts a line at the limit, marks it, and drops the rest up to its newline', () => {
    const s = new LineSplitter(4);
    assert.deepEqual(s.push('stdout', Buffer.from('abcdefgh')), []);
    assert.deepEqual(s.push('stdout', Buffer.from('ij\nok\nend')), [
      { stream: 'stdout', text: 'abcd', truncated: true },
      { stream: 'stdout', text: 'ok', truncated: false },
    ]);
    assert.deepEqual(s.flush(), [{ stream: 'stdout', text: 'end', truncated: false }]);
  });
});

describe('secrets', () => {
  it('masks values of keys that look secret, longest first', () => {
    const secrets = secretValues({ API_TOKEN: 'abc123', NAME: 'public' }, { DB_PASSWORD: 'abc123xyz', X: 'y' });
    assert.deepEqual(secrets, ['abc123xyz', 'abc123']);
    assert.equal(maskSecrets('t=abc123 p=abc123xyz n=public', secrets), 't=*** p=*** n=public');
    assert.equal(maskSecrets('cut inside abc12', secrets, true), 'cut inside ***');
  });
});

describe('StepLogSink', () => {
  const step = { jobId: 'j', stepIndex: 0, stepId: '1', stepName: 's', containerId: 'c' };
  const sink = (published: LogBatch[], extra: Partial<ConstructorParameters<typeof StepLogSink>[0]> = {}) =>
    new StepLogSink({ publish: async (b) => void published.push(b), step, secrets: ['hunter2'], maxBytes: 20, maxLineBytes: 8, ...extra });

  it('publishes masked lines in batches with byte offsets, and marks a cap', async () => {
    const published: LogBatch[] = [];
    const s = sink(published);
    await s.write('stdout', Buffer.from('pw hunter2\nhello\n'));
    await s.write('stdout', Buffer.from('0123456789\n'.repeat(3)));
    await s.close();
    const lines = published.flatMap((b) => b.lines.map((l) => `${l.message}${l.truncated ? '!' : ''}`));
    // 'pw hunter2' is cut at 8 bytes inside the secret: its visible part is masked all the same.
    assert.deepEqual(lines.slice(0, 2), ['pw ***!', 'hello']);
    assert.equal(lines.length, 3);
    assert.match(lines.at(-1) ?? '', /^\[hades: output cut: \d+ bytes past the limit of 20 bytes per step were dropped\]!$/);
    assert.equal(published[0]?.offset, 0);
    assert.equal(published.at(-1)?.end, 'pw hunter2\nhello\n'.length + 33);
  });

  it('skips what an earlier attempt published when it resumes', async () => {
    const published: LogBatch[] = [];
    const s = sink(published, { resumeOffset: 6, maxBytes: 1000 });
    await s.write('stdout', Buffer.from('first\nsecond\n'));
    await s.close();
    assert.deepEqual(published.flatMap((b) => b.lines.map((l) => l.message)), ['second']);
    assert.equal(published[0]?.offset, 6);
  });

  it("puts the step's result on its last batch, or on a batch of its own when nothing is left", async () => {
    const result = { containerId: 'c', exitCode: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', oomKilled: false, timedOut: false };
    const withTail: LogBatch[] = [];
    const a = sink(withTail, { maxBytes: 1000 });
    await a.write('stdout', Buffer.from('one\ntwo'));
    await a.close(result);
    assert.deepEqual(withTail.map((b) => [b.lines.map((l) => l.message), b.result]), [[['one', 'two'], result]]);
    const nothingLeft: LogBatch[] = [];
    const b = sink(nothingLeft, { maxBytes: 100_000 });
    await b.write('stdout', Buffer.from('one\n'.repeat(2000)));
    const before = nothingLeft.length;
    await b.close(result);
    assert.equal(nothingLeft.length, before + 1);
    assert.deepEqual(nothingLeft.at(-1)?.lines, []);
    assert.deepEqual(nothingLeft.at(-1)?.result, result);
    assert.equal(nothingLeft.at(-1)?.end, 8000);
    const none: LogBatch[] = [];
    await sink(none).close();
    assert.deepEqual(none, [], 'no result, no output: nothing published');
  });

  it('fails the step when the log cannot be published', async () => {
    const s = sink([], { publish: () => Promise.reject(new Error('nats down')), maxBytes: 1000 });
    await s.write('stdout', Buffer.from('x\n'));
    await assert.rejects(s.close(), /nats down/);
  });
});
