// A production Temporal server (not the dev server) on a private PostgreSQL, for tests that need
// the real thing: `temporal-server start` running frontend, history, matching and worker in one
// process, with default and visibility stores on PostgreSQL (plugin postgres12), every port free
// and on 127.0.0.1. scripts/setup-temporal-server.sh builds the binaries (run here; 0 s once built).
//   const temporal = await startTemporalServer({ dir, logDir });  ...  await temporal.stop();
//   npx tsx scripts/topology/temporalServer.ts up <dir>    (prints the address; Ctrl-C stops it)
// Each start is a fresh cluster: <dir>/pg, <dir>/pg-socket and <dir>/temporal are made anew.
// Namespace `default` (retention 1 day) is registered with the job search attributes
// (HadesJobName, HadesStatus: Keyword; HadesPriority: Int), and start-up waits until a
// visibility query on them answers.
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { exitOnSignals, freePorts, projectRoot, searchAttributes } from '../services';
import type { Proc } from '../kubernetes/processes';
import { assertRunning, launch, stepLog, waitUntil } from '../kubernetes/processes';

const execFileAsync = promisify(execFile);

export interface TemporalServerOptions {
  /** Scratch directory: PostgreSQL's data, the server's config. Its pg*, temporal parts are replaced. */
  dir: string;
  /** postgres.log, temporal-server.log, setup.log (every command run) and steps.log (timings). */
  logDir: string;
  /** The server's log level (default `warn`; `info` says much more). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Keep PostgreSQL's crash safety (fsync, synchronous commit, full-page writes). Off by default:
   * a throw-away test cluster does not outlive a machine crash, and fsync on 2 busy cores costs.
   */
  durable?: boolean;
}

export interface TemporalServer {
  name: 'temporal-server';
  /** Frontend gRPC, `127.0.0.1:<port>`. */
  address: string;
  /** `default`, with the job search attributes registered. */
  namespace: string;
  /** PostgreSQL's TCP address (`127.0.0.1:<port>`), user `temporal`, databases temporal and temporal_visibility. */
  postgresAddress: string;
  /** Process group ids (same as pids): stop() ends both; a sudden exit of this process kills them. */
  pid?: number;
  postgresPid?: number;
  configFile: string;
  dynamicConfigFile: string;
  logFiles: { server: string; postgres: string; setup: string };
  /** Stops the Temporal server only (SIGTERM, SIGKILL after 15 s); PostgreSQL keeps running. */
  stopServer(): Promise<void>;
  /** Stops PostgreSQL only (fast shutdown, SIGKILL after 10 s): the server then sees its store fail. */
  stopPostgres(): Promise<void>;
  /** Stops the server, then PostgreSQL; leaves no process behind. Safe to call more than once. */
  stop(): Promise<void>;
}

const NAMESPACE = 'default';
const DB_USER = 'temporal';
const databases = { default: 'temporal', visibility: 'temporal_visibility' } as const;
const cliPath = join(projectRoot, '.tools', 'venv', 'bin', 'temporal');
// sun_path is 108 bytes with its NUL; PostgreSQL's socket is <dir>/.s.PGSQL.<port>.
const MAX_SOCKET_PATH = 107;

export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServer> {
  const dir = resolve(opts.dir);
  const logDir = resolve(opts.logDir);
  mkdirSync(dir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const logs = {
    server: join(logDir, 'temporal-server.log'),
    postgres: join(logDir, 'postgres.log'),
    setup: join(logDir, 'temporal-setup.log'),
  };
  const step = stepLog(join(logDir, 'temporal-steps.log'));

  const installDir = await step('setup-temporal-server.sh', async () =>
    (await runLogged('bash', [join(projectRoot, 'scripts', 'setup-temporal-server.sh')], logs.setup, { timeoutMs: 45 * 60_000 })).trim(),
  );
  const serverBin = join(installDir, 'bin', 'temporal-server');
  const sqlTool = join(installDir, 'bin', 'temporal-sql-tool');
  const schemaDir = join(installDir, 'schema', 'postgresql', 'v12');
  const pgBin = postgresBinDir();
  if (!existsSync(cliPath)) {
    await step('setup.sh --no-images (Temporal CLI)', () =>
      runLogged('bash', [join(projectRoot, 'scripts', 'setup.sh'), '--no-images'], logs.setup, { timeoutMs: 30 * 60_000 }),
    );
    if (!existsSync(cliPath)) throw new Error(`the Temporal CLI is still missing at ${cliPath} after scripts/setup.sh --no-images`);
  }

  const pgData = join(dir, 'pg');
  const pgSocket = join(dir, 'pg-socket');
  const confDir = join(dir, 'temporal');
  assertNoPostgresOn(pgData);
  for (const d of [pgData, pgSocket, confDir]) rmSync(d, { recursive: true, force: true });
  mkdirSync(pgData, { mode: 0o700 });
  mkdirSync(pgSocket, { mode: 0o700 });
  mkdirSync(confDir, { mode: 0o700 });

  const procs: Proc[] = [];
  const killAll = () => {
    for (const p of procs) if (p.child.pid && p.child.exitCode === null && p.child.signalCode === null) killGroup(p.child.pid);
  };
  process.on('exit', killAll);
  exitOnSignals();
  let postgres: Proc | undefined;
  let server: Proc | undefined;
  const stopServer = async () => {
    await server?.stop(15_000);
  };
  const stopPostgres = async () => {
    if (!postgres) return;
    const pg = postgres;
    // SIGINT is PostgreSQL's fast shutdown (SIGTERM, the smart one, waits for every client).
    if (pg.child.pid && pg.child.exitCode === null && pg.child.signalCode === null) {
      try {
        process.kill(pg.child.pid, 'SIGINT');
      } catch {
        /* gone */
      }
    }
    await pg.stop(10_000);
  };
  const stop = async () => {
    await stopServer();
    await stopPostgres();
    process.removeListener('exit', killAll);
  };

  try {
    // ---- PostgreSQL, as the postgres user (it refuses to run as root) ----
    const [pgPort] = await freePorts(1);
    // Membership ports go into cluster_membership.rpc_port, a SMALLINT: one above 32767 (every
    // ephemeral port freePorts() hands out is) makes the server die at start-up.
    const low = await freePortsBelow32768(8);
    const rpc = (i: number) => {
      const [grpc, membership] = [low[2 * i], low[2 * i + 1]];
      if (grpc === undefined || membership === undefined) throw new Error('too few ports picked');
      return { grpc, membership };
    };
    const owner = await postgresUser();
    chownSync(pgData, owner.uid, owner.gid);
    chownSync(pgSocket, owner.uid, owner.gid);
    const asPostgres = (bin: string, args: string[]): [string, string[]] => ['setpriv', ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--init-groups', '--', bin, ...args]];
    const reachable = await execFileAsync(...asPostgres('/usr/bin/test', ['-w', pgData])).then(() => true, () => false);
    if (!reachable) throw new Error(`the postgres user cannot write ${pgData}: every directory above it must be searchable by others (chmod o+x)`);

    const password = randomBytes(18).toString('base64url');
    const pwFile = join(pgSocket, 'pwfile');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    chownSync(pwFile, owner.uid, owner.gid);
    await step('initdb', () =>
      runLogged(
        ...asPostgres(join(pgBin, 'initdb'), ['-D', pgData, '-U', DB_USER, `--pwfile=${pwFile}`, '--auth-host=scram-sha-256', '--auth-local=scram-sha-256', '--no-locale', '-E', 'UTF8', '--no-instructions']),
        logs.setup,
        { timeoutMs: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } },
      ).finally(() => rmSync(pwFile, { force: true })),
    );

    const socketDir = join(pgSocket, `.s.PGSQL.${pgPort}`).length <= MAX_SOCKET_PATH ? pgSocket : ''; // '' = no Unix socket
    const pgArgs = [
      '-D', pgData, '-p', String(pgPort),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${socketDir}`,
      '-c', 'max_connections=200', // each of the four services has its own pools (20 + 10)
      '-c', 'logging_collector=off',
      ...(opts.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ];
    postgres = launch('postgres', ...asPostgres(join(pgBin, 'postgres'), pgArgs), logs.postgres, { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' });
    procs.push(postgres);
    const pg = postgres;
    await step('postgres ready', () =>
      waitUntil('PostgreSQL accepting connections', () => succeeds(join(pgBin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(pgPort), '-t', '2']), [pg], 60_000, 100),
    );

    // ---- Databases and schemas (temporal-sql-tool, as upstream's auto-setup does) ----
    const sqlEnv = { ...cleanEnv(), SQL_PASSWORD: password };
    const sql = (db: string, args: string[]) =>
      runLogged(sqlTool, ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pgPort), '-u', DB_USER, '--db', db, ...args], logs.setup, { env: sqlEnv, timeoutMs: 120_000 });
    await step('schemas', () =>
      Promise.all(
        ([[databases.default, 'temporal'], [databases.visibility, 'visibility']] as const).map(async ([db, part]) => {
          await sql(db, ['create-database']);
          await sql(db, ['setup-schema', '-v', '0.0']);
          await sql(db, ['update-schema', '-d', join(schemaDir, part, 'versioned')]);
        }),
      ),
    );

    // ---- Server config ----
    const configFile = join(confDir, 'config.yaml');
    const dynamicConfigFile = join(confDir, 'dynamicconfig.yaml');
    writeFileSync(dynamicConfigFile, dynamicConfig(), { mode: 0o600 });
    await step('validate dynamic config', async () => {
      // Prints `error:`/`warning:` lines for unknown keys or wrong types: a typo must not pass silently.
      const out = await runLogged(serverBin, ['validate-dynamic-config', dynamicConfigFile], logs.setup, { timeoutMs: 30_000 });
      if (/\b(error|warning):/.test(out)) throw new Error(`dynamic config ${dynamicConfigFile} rejected:\n${out}`);
    });
    writeFileSync(
      configFile,
      serverConfig({
        logLevel: opts.logLevel ?? 'warn',
        pgAddress: `127.0.0.1:${pgPort}`,
        password,
        dynamicConfigFile,
        services: {
          frontend: rpc(0),
          history: rpc(1),
          matching: rpc(2),
          worker: rpc(3),
        },
      }),
      { mode: 0o600 },
    );

    // ---- Server: all four services in one process ----
    const address = `127.0.0.1:${rpc(0).grpc}`;
    // TEMPORAL_VERSION_CHECK_DISABLED turns the version check's default off too (see dynamicConfig()).
    server = launch('temporal-server', serverBin, ['--config-file', configFile, '--allow-no-auth', 'start'], logs.server, {
      ...cleanEnv(),
      TEMPORAL_VERSION_CHECK_DISABLED: '1',
    });
    procs.push(server);
    const both = [pg, server];
    // The CLI's answers (errors included) are in the setup log: name it when a wait gives up.
    const waitCli = (what: string, ready: () => Promise<boolean>, timeoutMs: number, intervalMs: number) =>
      waitUntil(what, ready, both, timeoutMs, intervalMs).catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}; the CLI's answers are in ${logs.setup}`);
      });
    const cli = (args: string[]) =>
      runLogged(cliPath, [...args, '--address', address, '--disable-config-file', '--disable-config-env', '--command-timeout', '10s'], logs.setup, { env: cleanEnv(), timeoutMs: 20_000 });
    await step('frontend serving', () =>
      waitCli('the Temporal frontend answering its health check', async () => /SERVING/.test(await cli(['operator', 'cluster', 'health'])), 180_000, 250),
    );
    // The frontend answers before history owns its shards: retry until the namespace is made.
    await step('namespace', () =>
      waitCli('namespace default registered', () => tolerateExists(cli(['operator', 'namespace', 'create', '--namespace', NAMESPACE, '--retention', '24h'])), 120_000, 500),
    );
    await step('search attributes', async () => {
      for (const [name, type] of Object.entries(searchAttributes)) {
        const args = ['operator', 'search-attribute', 'create', '--namespace', NAMESPACE, '--name', name, '--type', type];
        await waitCli(`search attribute ${name} (${type}) created`, () => tolerateExists(cli(args)), 60_000, 500);
      }
    });
    // Visible = a visibility query naming every one of them is accepted (the namespace cache
    // in the frontend refreshes every 2 s).
    const query = Object.entries(searchAttributes)
      .map(([name, type]) => (type === 'Int' ? `${name} = 1` : `${name} = "Queued"`))
      .join(' OR ');
    await step('search attributes visible', () =>
      waitCli('the search attributes usable in a visibility query', () => succeedsAsync(cli(['workflow', 'list', '--namespace', NAMESPACE, '--query', query, '--limit', '1'])), 60_000, 250),
    );
    assertRunning(server);

    return {
      name: 'temporal-server',
      address,
      namespace: NAMESPACE,
      postgresAddress: `127.0.0.1:${pgPort}`,
      pid: server.child.pid,
      postgresPid: pg.child.pid,
      configFile,
      dynamicConfigFile,
      logFiles: logs,
      stopServer,
      stopPostgres,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------

function dynamicConfig(): string {
  return [
    '# Written by scripts/topology/temporalServer.ts.',
    '# Task priority (priorityKey) is honoured only by the new matcher, and with one partition.',
    'matching.useNewMatcher:',
    '  - value: true',
    'matching.numTaskqueueReadPartitions:',
    '  - value: 1',
    'matching.numTaskqueueWritePartitions:',
    '  - value: 1',
    '# No calls home: the frontend otherwise posts to https://version-info.temporal.io/check.',
    'frontend.enableServerVersionCheck:',
    '  - value: false',
    '# A search attribute just registered is usable at once (tests register and query).',
    'system.forceSearchAttributesCacheRefreshOnRead:',
    '  - value: true',
    '',
  ].join('\n');
}

interface ServerConfigInput {
  logLevel: string;
  pgAddress: string;
  password: string;
  dynamicConfigFile: string;
  services: Record<'frontend' | 'history' | 'matching' | 'worker', { grpc: number; membership: number }>;
}

function serverConfig(c: ServerConfigInput): string {
  const store = (db: string, maxConns: number) => [
    `      sql:`,
    `        pluginName: "postgres12"`,
    `        databaseName: "${db}"`,
    `        connectAddr: "${c.pgAddress}"`,
    `        connectProtocol: "tcp"`,
    `        user: "${DB_USER}"`,
    `        password: "${c.password}"`,
    `        maxConns: ${maxConns}`,
    `        maxIdleConns: ${maxConns}`,
    `        maxConnLifetime: "1h"`,
  ];
  const services = Object.entries(c.services).flatMap(([name, p]) => [
    `  ${name}:`,
    `    rpc:`,
    `      grpcPort: ${p.grpc}`,
    `      membershipPort: ${p.membership}`,
    `      bindOnIP: "127.0.0.1"`,
  ]);
  return [
    '# Written by scripts/topology/temporalServer.ts (after upstream config/development-postgres12.yaml).',
    'log:',
    '  stdout: true',
    `  level: ${c.logLevel}`,
    'persistence:',
    '  defaultStore: postgres-default',
    '  visibilityStore: postgres-visibility',
    '  numHistoryShards: 4',
    '  datastores:',
    '    postgres-default:',
    ...store(databases.default, 20),
    '    postgres-visibility:',
    ...store(databases.visibility, 10),
    'global:',
    '  membership:',
    '    maxJoinDuration: 30s',
    '    broadcastAddress: "127.0.0.1"',
    'services:',
    ...services,
    'clusterMetadata:',
    '  enableGlobalNamespace: false',
    '  failoverVersionIncrement: 10',
    '  masterClusterName: "active"',
    '  currentClusterName: "active"',
    '  clusterInformation:',
    '    active:',
    '      enabled: true',
    '      initialFailoverVersion: 1',
    '      rpcName: "frontend"',
    `      rpcAddress: "127.0.0.1:${c.services.frontend.grpc}"`,
    'dcRedirectionPolicy:',
    '  policy: "noop"',
    'dynamicConfigClient:',
    `  filepath: "${c.dynamicConfigFile}"`,
    '  pollInterval: "10s"',
    '',
  ].join('\n');
}

/** The newest /usr/lib/postgresql/<major>/bin that has initdb (setup-temporal-server.sh installs one). */
function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((m) => /^\d+$/.test(m) && existsSync(join(base, m, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const [major] = majors;
  if (!major) throw new Error(`no PostgreSQL in ${base}/<major>/bin; run bash scripts/setup-temporal-server.sh`);
  return join(base, major, 'bin');
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error("no 'postgres' user (Debian's postgresql package makes it); run bash scripts/setup-temporal-server.sh");
  }
}

/** A PostgreSQL left running on this data directory (its owner died) would be wiped from under it. */
function assertNoPostgresOn(pgData: string): void {
  const pidFile = join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale
  }
  throw new Error(`a PostgreSQL (pid ${pid}) still runs on ${pgData}: stop it first (kill -INT ${pid})`);
}

/** The environment for children, without TEMPORAL_* settings that would point the CLI elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')));
}

/** Runs a command to its end, appending its command line and output to `logFile`; rejects with its output. */
async function runLogged(
  cmd: string,
  args: readonly string[],
  logFile: string,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<string> {
  const line = `$ ${cmd} ${args.join(' ')}\n`;
  try {
    const { stdout, stderr } = await execFileAsync(cmd, [...args], { env: opts.env ?? process.env, timeout: opts.timeoutMs, maxBuffer: 64 << 20 });
    appendLog(logFile, `${line}${stdout}${stderr}`);
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: unknown; signal?: unknown };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
    appendLog(logFile, `${line}${output}\n(failed: ${String(e.code ?? e.signal)})\n`);
    throw new Error(`${cmd} ${args.join(' ')} failed (${String(e.code ?? e.signal)}): ${output.split('\n').slice(-5).join('\n')}`);
  }
}

function appendLog(file: string, text: string): void {
  writeFileSync(file, text, { flag: 'a' });
}

function succeeds(cmd: string, args: string[]): Promise<boolean> {
  return execFileAsync(cmd, args, { timeout: 10_000 }).then(
    () => true,
    () => false,
  );
}

function succeedsAsync(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => true,
    () => false,
  );
}

/** True when the command succeeded or found its object already there (a retry after a timeout). */
function tolerateExists(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => true,
    (err: unknown) => /already (exists|registered)/i.test(String(err)),
  );
}

/**
 * `count` distinct free 127.0.0.1 ports in 20000-32767, below Linux's ephemeral range (so
 * freePorts() and outgoing connections do not take them), all held open together while picked.
 */
async function freePortsBelow32768(count: number): Promise<number[]> {
  const held: Server[] = [];
  const tryListen = (port: number) =>
    new Promise<Server | undefined>((res) => {
      const server = createServer();
      server.unref();
      server.once('error', () => res(undefined));
      server.listen(port, '127.0.0.1', () => res(server));
    });
  try {
    for (let attempt = 0; held.length < count; attempt++) {
      if (attempt > 2000) throw new Error(`no ${count} free ports between 20000 and 32767 on 127.0.0.1`);
      const port = 20000 + randomInt(12768);
      if (held.some((s) => (s.address() as { port: number }).port === port)) continue;
      const server = await tryListen(port);
      if (server) held.push(server);
    }
    return held.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

// ---------------------------------------------------------------------------------------------

async function cli(argv: string[]): Promise<void> {
  const [command, dirArg] = argv;
  if (command !== 'up' || !dirArg) {
    console.error('usage: temporalServer.ts up <dir>');
    process.exitCode = 2;
    return;
  }
  const dir = resolve(dirArg);
  const started = Date.now();
  const temporal = await startTemporalServer({ dir, logDir: join(dir, 'logs') });
  console.log(`temporal-server ready in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${join(dir, 'logs')}`);
  console.log(`address ${temporal.address} (namespace ${temporal.namespace}); PostgreSQL ${temporal.postgresAddress}`);
  console.log('Ctrl-C stops it');
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  console.log('stopping');
  await temporal.stop();
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
