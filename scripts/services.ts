// Starts the servers Hades runs on, as child processes: the Temporal dev server, nats-server
// with JetStream, and (for tests) a local Docker registry. Used by `npm start` and `npm test`.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { join, resolve } from 'node:path';
import { jobSearchAttributes } from '../src/workflows/searchAttributes';

export const projectRoot = resolve(__dirname, '..');
const venvBin = join(projectRoot, '.tools', 'venv', 'bin');

/** Search attributes the dev server registers for jobs (Web UI filters): `HadesStatus=Keyword`. */
const cliTypes = { KEYWORD: 'Keyword', INT: 'Int' } as const;
export const searchAttributes: Record<string, string> = Object.fromEntries(
  Object.values(jobSearchAttributes).map((key) => [key.name, cliTypes[key.type]]),
);

export interface Service {
  name: string;
  address: string;
  stop(): Promise<void>;
}

type Ports<N extends number, R extends number[] = []> = R['length'] extends N ? R : Ports<N, [number, ...R]>;

/** `count` distinct free ports: all are held open together, so none is handed out twice. */
export async function freePorts<N extends number>(count: N): Promise<Ports<N>> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.unref();
          server.on('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports as Ports<N>;
}

/**
 * Fails, naming the port and the variable that moves it, when something already listens there:
 * a server started over it would fail, and the waits below would take the other program for it.
 */
export async function assertPortsFree(ports: Record<string, number>): Promise<void> {
  const taken: [string, number][] = [];
  for (const [variable, port] of Object.entries(ports)) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!free) taken.push([variable, port]);
  }
  const [first] = taken;
  if (first) {
    const which = taken.map(([variable, port]) => `port ${port} (${variable})`).join(', ');
    throw new Error(`${which} already in use: another Hades, Temporal or NATS may be running there. Stop it, or move this one, e.g. ${first[0]}=<free port> in .env.`);
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

function binary(name: string, fallbacks: string[]): string {
  for (const candidate of [join(venvBin, name), ...fallbacks]) if (existsSync(candidate)) return candidate;
  throw new Error(`${name} not found (looked in ${venvBin} and ${fallbacks.join(', ')}); run npm run setup`);
}

async function waitForPort(port: number, child: ChildProcess, name: string, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}; see ${logFile}`);
    const open = await new Promise<boolean>((res) => {
      const sock = netConnect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        res(true);
      });
      sock.once('error', () => res(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms; see ${logFile}`);
}

function launch(name: string, cmd: string, args: string[], logFile: string): ChildProcess {
  const out = openSync(logFile, 'a');
  // Own process group: stop() signals the whole group, so nothing outlives us.
  return spawn(cmd, args, { stdio: ['ignore', out, out], detached: true });
}

function stopper(child: ChildProcess, name: string): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    void name;
  };
}

/** Adds a service to `list` as soon as it is up, so a failure to start another still stops it. */
export async function tracked<T extends Service>(list: Service[], starting: Promise<T>): Promise<T> {
  const service = await starting;
  list.push(service);
  return service;
}

const exitCodes: [NodeJS.Signals, number][] = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];
let exitingOnSignals = false;

/**
 * Makes SIGINT, SIGTERM and SIGHUP end this process through `process.exit`, so its 'exit'
 * handlers run and kill the process groups it started (by default a signal ends Node without
 * them, and a detached server outlives an interrupted test). A process with a handler of its own
 * for the signal is left to it: this one runs first (prepended) and steps aside when it is not the
 * only one. Idempotent.
 */
export function exitOnSignals(): void {
  if (exitingOnSignals) return;
  exitingOnSignals = true;
  for (const [signal, code] of exitCodes) {
    process.prependListener(signal, () => {
      if (process.listenerCount(signal) === 1) process.exit(code);
    });
  }
}

/** Kills children that are still running when this process dies suddenly (or is interrupted). */
export function killOnExit(services: { pid?: number }[]): void {
  exitOnSignals();
  process.on('exit', () => {
    for (const s of services) {
      if (s.pid) {
        try {
          process.kill(-s.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
}

export interface TemporalOptions {
  port: number;
  uiPort?: number;
  /** The dev server's HTTP API and metrics ports; picked here (not by the server) when absent. */
  httpPort?: number;
  metricsPort?: number;
  /** SQLite file for state that survives restarts; in memory when absent. */
  dbFile?: string;
  logDir: string;
  ip?: string;
  /** The Web UI decodes payloads through this remote codec (Hades's API: http://host:port/codec). */
  uiCodecEndpoint?: string;
  /** How the HTTP and metrics ports are picked when not given (each attempt anew); tests replace it. */
  pickPorts?: () => Promise<[number, number]>;
}

/** Tries at starting the dev server when a port it binds was taken meanwhile (see startTemporal). */
const TEMPORAL_START_ATTEMPTS = 3;

export async function startTemporal(opts: TemporalOptions): Promise<Service & { uiUrl?: string; pid?: number }> {
  const temporal = binary('temporal', []);
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = join(opts.logDir, 'temporal.log');
  // The dev server probes for free ports for its internal services (history, matching, worker)
  // and binds them later; on a busy machine another process (any outgoing connection) may take
  // one in between, and it exits "address already in use". Started again, it picks new ones.
  for (let attempt = 1; ; attempt++) {
    // Left to itself the server picks these at random, and may take a port a caller chose.
    const [httpPort, metricsPort] = opts.httpPort && opts.metricsPort ? [opts.httpPort, opts.metricsPort] : await (opts.pickPorts ?? (() => freePorts(2)))();
    const logFrom = existsSync(logFile) ? statSync(logFile).size : 0;
    const child = launch('temporal', temporal, temporalArgs(opts, httpPort, metricsPort), logFile);
    try {
      await waitForPort(opts.port, child, 'temporal', 60_000, logFile);
    } catch (err) {
      if (attempt < TEMPORAL_START_ATTEMPTS && child.exitCode !== null && logSince(logFile, logFrom).includes('address already in use')) continue;
      throw err;
    }
    return {
      name: 'temporal',
      address: `127.0.0.1:${opts.port}`,
      ...(opts.uiPort && { uiUrl: `http://127.0.0.1:${opts.uiPort}` }),
      ...(child.pid !== undefined && { pid: child.pid }),
      stop: stopper(child, 'temporal'),
    };
  }
}

function temporalArgs(opts: TemporalOptions, httpPort: number, metricsPort: number): string[] {
  const args = ['server', 'start-dev', '--ip', opts.ip ?? '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push('--http-port', String(httpPort), '--metrics-port', String(metricsPort));
  if (opts.uiPort) {
    args.push('--ui-port', String(opts.uiPort), '--ui-ip', opts.ip ?? '127.0.0.1');
    if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  } else {
    args.push('--headless');
  }
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  // WAL and relaxed syncs: the dev server's SQLite is slow under load with its defaults.
  args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  for (const [key, type] of Object.entries(searchAttributes)) args.push('--search-attribute', `${key}=${type}`);
  // Task priority (priorityKey) is honoured by the server's new matcher, within one partition of a
  // task queue: with the default four, tasks are spread over partitions and dispatched in no order.
  args.push(
    '--dynamic-config-value', 'matching.useNewMatcher=true',
    '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
  );
  return args;
}

/** What a log file gained past byte `from`. */
function logSince(file: string, from: number): string {
  try {
    return readFileSync(file).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

export interface NatsOptions {
  port: number;
  storeDir: string;
  logDir: string;
  /** More nats-server flags (tests: --tls ...). */
  extraArgs?: string[];
}

export async function startNats(opts: NatsOptions): Promise<Service & { pid?: number }> {
  const nats = binary('nats-server', ['/usr/sbin/nats-server', '/usr/bin/nats-server']);
  mkdirSync(opts.storeDir, { recursive: true });
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = join(opts.logDir, 'nats.log');
  const child = launch('nats', nats, ['-a', '127.0.0.1', '-p', String(opts.port), '-js', '-sd', opts.storeDir, ...(opts.extraArgs ?? [])], logFile);
  await waitForPort(opts.port, child, 'nats-server', 30_000, logFile);
  return {
    name: 'nats',
    address: `nats://127.0.0.1:${opts.port}`,
    ...(child.pid !== undefined && { pid: child.pid }),
    stop: stopper(child, 'nats'),
  };
}

export interface RegistryOptions {
  port: number;
  dataDir: string;
  logDir: string;
}

/** Debian's docker-registry on 127.0.0.1 (Docker pulls from 127.0.0.0/8 without TLS). */
export async function startRegistry(opts: RegistryOptions): Promise<Service & { pid?: number }> {
  const registry = binary('docker-registry', ['/usr/bin/docker-registry']);
  mkdirSync(opts.dataDir, { recursive: true });
  mkdirSync(opts.logDir, { recursive: true });
  const configFile = join(opts.dataDir, 'config.yml');
  writeFileSync(
    configFile,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${opts.dataDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${opts.port}`,
      '',
    ].join('\n'),
  );
  const logFile = join(opts.logDir, 'registry.log');
  const child = launch('registry', registry, ['serve', configFile], logFile);
  await waitForPort(opts.port, child, 'docker-registry', 30_000, logFile);
  return {
    name: 'registry',
    address: `127.0.0.1:${opts.port}`,
    ...(child.pid !== undefined && { pid: child.pid }),
    stop: stopper(child, 'registry'),
  };
}
