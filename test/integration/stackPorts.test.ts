import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
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

/** Inodes of the sockets the processes of this tree hold open. */
function socketInodes(rootPid: number): Set<string> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const inodes = new Set<string>();
  const visit = (pid: number) => {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodes.add(m[1]);
      }
    } catch {
      // gone meanwhile
    }
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(rootPid);
  return inodes;
}

/** The listening TCP sockets among these inodes, as address:port (IPv4 and IPv6). */
function listeningAddresses(inodes: Set<string>): string[] {
  const out: string[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [local, state, inode] = [f[1], f[3], f[9]];
      if (!local || state !== '0A' || !inode || !inodes.has(inode)) continue;
      const [hex, port] = local.split(':');
      const address = v6 ? ipv6(hex ?? '') : (hex?.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.');
      out.push(`${address}:${parseInt(port ?? '0', 16)}`);
    }
  }
  return out;
}

function ipv6(hex: string): string {
  // /proc prints four little-endian 32-bit words.
  const words = (hex.match(/.{8}/g) ?? []).map((w) => (w.match(/../g) ?? []).reverse().join(''));
  const groups = words.join('').match(/.{4}/g) ?? [];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

describe('npm start', () => {
  it('listens on loopback only: Temporal (gRPC, Web UI and its other ports), NATS and the API', { timeout: 180_000 }, async () => {
    const [temporal, ui, nats, api] = await freePorts(4);
    const dataDir = join(testEnv.runDir, `stack-loopback-${uniqueSuffix()}`);
    mkdirSync(dataDir, { recursive: true });
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'stack.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH, TEMPORAL_PORT: String(temporal), TEMPORAL_UI_PORT: String(ui), NATS_PORT: String(nats), API_PORT: String(api), HADES_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the stack did not start:\n${output}`)), 150_000);
        const onData = (d: Buffer) => {
          output += d.toString();
          if (output.includes('Hades is running')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', () => reject(new Error(`the stack exited:\n${output}`)));
      });
      // "Hades is running" comes once Temporal's gRPC port answers; its Web UI may bind a moment later.
      const all = [temporal, ui, nats, api];
      let listening = listeningAddresses(socketInodes(child.pid ?? 0));
      for (const deadline = Date.now() + 60_000; !all.every((p) => listening.some((a) => a.endsWith(`:${p}`))) && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 200));
        listening = listeningAddresses(socketInodes(child.pid ?? 0));
      }
      for (const port of all) assert.ok(listening.some((a) => a.endsWith(`:${port}`)), `something listens on ${port}: ${listening.join(', ')}`);
      const open = listening.filter((a) => !a.startsWith('127.') && !a.startsWith('0:0:0:0:0:0:0:1:'));
      assert.deepEqual(open, [], `listening beyond loopback: ${open.join(', ')}`);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  });
});
