import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { until } from '../helpers/nats';

// An interrupted test run (Ctrl-C, or its process group sent SIGTERM) must not leave the servers a
// test file started (PostgreSQL, a second dockerd, NATS nodes) running: they are detached, and
// only the file's 'exit' handler kills them, which a signal skips unless the process exits itself.

/** Whether `pid` still runs (a zombie has ended: only its entry waits to be reaped). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// Whatever a failing test left running, after the assertions.
const started: number[] = [];
after(() => {
  for (const pid of started) if (running(pid)) process.kill(-pid, 'SIGKILL');
});

async function signalled(args: string[]): Promise<{ code: number | null; output: string; child: number }> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'fixtures', 'signalledProcess.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  p.stdout.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  const child = await until('the child pid', async () => /\{"child":(\d+)\}/.exec(output)?.[1], 30_000, 20).then(Number);
  started.push(child);
  p.kill('SIGTERM');
  return { code: await exited, output, child };
}

describe('exitOnSignals', () => {
  it('makes SIGTERM run the exit handlers, so a detached child started by the process ends with it', async () => {
    const { code, child } = await signalled([]);
    assert.equal(code, 143);
    await until(`the detached child ${child} to end`, async () => !running(child), 10_000, 20);
  });

  it("leaves the signal to the process's own handler when it has one", async () => {
    const { code, output, child } = await signalled(['own-handler']);
    assert.equal(code, 7);
    assert.match(output, /own handler/);
    await until(`the detached child ${child} to end`, async () => !running(child), 10_000, 20);
  });
});
