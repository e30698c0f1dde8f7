// Child processes of the cluster: each in its own process group with its output in a log file,
// as scripts/services.ts does for the other servers, plus the waits that starting one needs.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, openSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  stop(timeoutMs?: number): Promise<void>;
}

export function launch(name: string, cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Proc {
  const out = openSync(logFile, 'a');
  // Own process group: stop() signals the whole group, so nothing it forked outlives it.
  const child = spawn(cmd, args, { stdio: ['ignore', out, out], detached: true, env: env ?? process.env });
  closeSync(out);
  child.on('error', () => undefined); // checkTools() has made sure every binary is there
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return {
    name,
    child,
    logFile,
    async stop(timeoutMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* gone */
  }
}

/** Throws, naming the log file, when the process has ended. */
export function assertRunning(proc: Proc): void {
  const { exitCode, signalCode } = proc.child;
  if (exitCode !== null || signalCode !== null) {
    throw new Error(`${proc.name} exited (${exitCode ?? signalCode}); see ${proc.logFile}`);
  }
}

/** Polls `ready` until it answers true, failing early when one of `procs` dies. */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  procs: Proc[],
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const proc of procs) assertRunning(proc);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      const logs = procs.map((p) => p.logFile).join(', ');
      throw new Error(`${what} did not happen within ${timeoutMs} ms${logs ? `; see ${logs}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Resolves to `proc` once `ready` does; stops it when it never gets there, so nothing leaks. */
export async function readyOrStopped(proc: Proc, ready: Promise<void>): Promise<Proc> {
  try {
    await ready;
    return proc;
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect(port, host);
    sock.once('connect', () => {
      sock.destroy();
      res(true);
    });
    sock.once('error', () => res(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a command to its end; rejects with its stderr when it fails. */
export async function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  if (opts.input === undefined) {
    const { stdout } = await execFileAsync(cmd, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.trim()}`)),
    );
    child.stdin.end(opts.input);
  });
}

/** Like run(), but a failure only returns undefined (for clean-up steps that may find nothing to do). */
export async function tryRun(cmd: string, args: string[], input?: string): Promise<string | undefined> {
  try {
    return await run(cmd, args, input === undefined ? {} : { input });
  } catch {
    return undefined;
  }
}

/** Times named steps into a log file: where start-up or stop spends its seconds. */
export function stepLog(file: string): <T>(name: string, fn: () => Promise<T>) => Promise<T> {
  return async (name, fn) => {
    const start = Date.now();
    try {
      return await fn();
    } finally {
      appendFileSync(file, `${new Date().toISOString()} ${name}: ${Date.now() - start} ms\n`);
    }
  };
}
