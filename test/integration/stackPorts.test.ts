import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePorts } from '../../scripts/services';
import { uniqueSuffix } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

const root = join(__dirname, '..', '..');

/** Runs `npm start`'s stack script with these settings until it exits (it must, here). */
function startStack(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'stack.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // A stack that started after all (on somebody else's server) is stopped, and the test fails.
    const timer = setTimeout(() => child.kill('SIGINT'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm start with a port already taken', () => {
  const held: Server[] = [];
  after(async () => {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  });

  it('starts nothing and names the port and the variable that moves it', { timeout: 120_000 }, async () => {
    const [temporal, ui, nats, api] = await freePorts(4);
    // Another program on the NATS port (as a second checkout's nats-server would be).
    const other = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => other.listen(nats, '127.0.0.1', resolve));
    held.push(other);
    const dataDir = join(testEnv.runDir, `stack-ports-${uniqueSuffix()}`);
    mkdirSync(dataDir, { recursive: true });
    const { code, output } = await startStack({
      TEMPORAL_PORT: String(temporal),
      TEMPORAL_UI_PORT: String(ui),
      NATS_PORT: String(nats),
      API_PORT: String(api),
      API_HOST: '127.0.0.1',
      HADES_DATA_DIR: dataDir,
    });
    assert.equal(code, 1, output);
    assert.match(output, new RegExp(`port ${nats} \\(NATS_PORT\\) already in use`));
    assert.doesNotMatch(output, /Hades is running/);
    // Nothing of its own was started: the Temporal port it would have used is still free.
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(temporal, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });
});
