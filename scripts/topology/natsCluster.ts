// A NATS cluster with JetStream on this machine, for multi-node tests: `size` nats-server
// processes on 127.0.0.1, each with its own config file, store folder and log, routed to each
// other. Start-up resolves once the JetStream meta group has a leader, every node is current and
// a stream with one replica per node can be created; a node can be stopped and started again on
// the same ports and store (to test a lost node and its return).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { connect } from 'nats';
import { launch, readyOrStopped, waitUntil } from '../kubernetes/processes';
import type { Proc } from '../kubernetes/processes';
import { exitOnSignals, freePorts, projectRoot } from '../services';

export interface NatsClusterOptions {
  /** Each node's store folder and config file go to `<dir>/<node name>/`. */
  dir: string;
  /** Each node logs to `<logDir>/<node name>.log` (appended to across restarts). */
  logDir: string;
  /** Number of nodes, at least 2 (3 unless told: a quorum of 2 survives one lost node). */
  size?: number;
  /** Bound on start-up (all nodes) and on each node's restart; 60 s unless told. */
  timeoutMs?: number;
}

export interface NatsNode {
  /** `server_name` of the node, e.g. `n1`. */
  name: string;
  /** nats://127.0.0.1:<client port> */
  url: string;
  /** The node's monitoring endpoint, http://127.0.0.1:<port> (/healthz, /jsz, /varz). */
  monitorUrl: string;
  /** The running process id; undefined while stopped. */
  pid(): number | undefined;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
  stop(): Promise<void>;
  /**
   * Starts it again on the same ports, config and store; resolves once its /healthz is ok and the
   * leaders see it current in the meta group and in every stream and consumer it holds a replica of.
   */
  start(): Promise<void>;
}

export interface NatsCluster {
  /** Client URLs of every node, in node order. */
  urls: string[];
  nodes: NatsNode[];
  /** Stops every node; safe to call twice. */
  stop(): Promise<void>;
}

const clusterName = 'hades-test';
const stopTimeoutMs = 10_000;

function natsBinary(): string {
  const candidates = [join(projectRoot, '.tools', 'venv', 'bin', 'nats-server'), '/usr/sbin/nats-server', '/usr/bin/nats-server'];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`nats-server not found (looked in ${candidates.join(', ')}); run bash scripts/setup.sh --no-images`);
  return found;
}

/** GET on 127.0.0.1 with a bound: status and body, or an error. */
function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

async function healthy(monitorUrl: string): Promise<boolean> {
  // The full check: JetStream on, in contact with a meta leader and current, streams caught up.
  const { status } = await httpGet(`${monitorUrl}/healthz`);
  return status === 200;
}

interface MetaCluster {
  leader?: string;
  cluster_size?: number;
  replicas?: { name: string; current: boolean; offline?: boolean }[];
}

async function metaCluster(monitorUrl: string): Promise<MetaCluster | undefined> {
  const { status, body } = await httpGet(`${monitorUrl}/jsz`);
  if (status !== 200) return undefined;
  return (JSON.parse(body) as { meta_cluster?: MetaCluster }).meta_cluster;
}

/** Every node sees the same meta leader, and that leader sees all other nodes as current. */
async function metaGroupFormed(monitorUrls: string[], names: string[]): Promise<boolean> {
  const metas = await Promise.all(monitorUrls.map((u) => metaCluster(u)));
  const leader = metas[0]?.leader;
  if (!leader || metas.some((m) => m?.leader !== leader || m.cluster_size !== names.length)) return false;
  const leaderMeta = metas[names.indexOf(leader)];
  const replicas = leaderMeta?.replicas ?? [];
  return names.filter((n) => n !== leader).every((n) => replicas.some((r) => r.name === n && r.current && !r.offline));
}

/** Creates and deletes a stream with one replica per node: the proof that JetStream clustering works. */
async function replicatedStreamWorks(urls: string[], replicas: number): Promise<boolean> {
  const nc = await connect({ servers: urls, timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await nc.jetstreamManager({ timeout: 5000 });
    const name = `TOPOLOGY_PROBE_${process.pid}_${Date.now()}`;
    await jsm.streams.add({ name, subjects: [`topology.probe.${process.pid}.${Date.now()}`], num_replicas: replicas });
    try {
      const info = await jsm.streams.info(name);
      return info.cluster?.leader !== undefined && (info.cluster.replicas?.length ?? 0) === replicas - 1;
    } finally {
      await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

/** waitUntil(), with the last error of `ready` (if any) in the time-out message. */
async function waitFor(what: string, ready: () => Promise<boolean>, procs: Proc[], timeoutMs: number, intervalMs?: number): Promise<void> {
  let lastError: unknown;
  const remembering = async (): Promise<boolean> => {
    try {
      return await ready();
    } catch (err) {
      lastError = err;
      throw err;
    }
  };
  try {
    await waitUntil(what, remembering, procs, timeoutMs, intervalMs);
  } catch (err) {
    if (lastError === undefined || !(err instanceof Error)) throw err;
    throw new Error(`${err.message} (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`);
  }
}

type ClusterInfo = { leader?: string; replicas?: { name: string; current: boolean; offline?: boolean }[] } | undefined;

/** `node` is the leader of the group or one of its replicas that the leader sees as current (or not in the group). */
function currentIn(cluster: ClusterInfo, node: string): boolean {
  if (!cluster) return true;
  if (cluster.leader === node) return true;
  const replica = cluster.replicas?.find((r) => r.name === node);
  if (!replica) return true;
  return cluster.leader !== undefined && replica.current && !replica.offline;
}

/**
 * The node is current in the meta group and in every stream and consumer group it holds a replica
 * of (default account). /healthz alone is not enough: right after a restart it answers ok while
 * the node's stream replicas still lack what was written while it was down.
 */
async function caughtUp(urls: string[], monitorUrls: string[], names: string[], node: string): Promise<boolean> {
  const metas = await Promise.all(monitorUrls.map((u) => metaCluster(u).catch(() => undefined)));
  const leader = metas.find((m) => m?.leader !== undefined)?.leader;
  if (leader === undefined) return false;
  const leaderMeta = metas[names.indexOf(leader)];
  if (leaderMeta?.leader !== leader) return false;
  if (leader !== node && !leaderMeta.replicas?.some((r) => r.name === node && r.current && !r.offline)) return false;
  const nc = await connect({ servers: urls, timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await nc.jetstreamManager({ timeout: 5000 });
    for await (const stream of jsm.streams.list()) {
      if (!currentIn(stream.cluster, node)) return false;
      for await (const consumer of jsm.consumers.list(stream.config.name)) if (!currentIn(consumer.cluster, node)) return false;
    }
    return true;
  } finally {
    await nc.close();
  }
}

export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  // One node with a cluster block waits for peers forever; a single server is startNats() in scripts/services.ts.
  if (!Number.isInteger(size) || size < 2) throw new Error(`size must be an integer of at least 2 (got ${size}); for one server use startNats() from scripts/services.ts`);
  const binary = natsBinary();
  mkdirSync(opts.logDir, { recursive: true });
  // Client, route and monitoring port per node. Held open together while picked, so no two are
  // equal; another program may still take one before nats-server binds it (the wait then fails
  // with the node's log).
  const ports = (await freePorts<number>(size * 3)) as number[];
  const port = (i: number): number => {
    const p = ports[i];
    if (p === undefined) throw new Error(`no port ${i}`);
    return p;
  };
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `n${i + 1}`,
    clientPort: port(3 * i),
    routePort: port(3 * i + 1),
    httpPort: port(3 * i + 2),
  }));
  const routes = specs.map((s) => `nats-route://127.0.0.1:${s.routePort}`);
  const procs = new Map<string, Proc>();
  let stopped = false;
  // Should this process die without stop(), do not leave servers behind.
  const onExit = (): void => {
    for (const proc of procs.values()) {
      if (proc.child.pid !== undefined && proc.child.exitCode === null && proc.child.signalCode === null) {
        try {
          process.kill(-proc.child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  };
  process.on('exit', onExit);
  exitOnSignals();

  const allUrls = (): string[] => specs.map((s) => `nats://127.0.0.1:${s.clientPort}`);
  const allMonitorUrls = (): string[] => specs.map((s) => `http://127.0.0.1:${s.httpPort}`);
  const allNames = (): string[] => specs.map((s) => s.name);
  const nodes = specs.map((spec): NatsNode & { launch(): Proc } => {
    const nodeDir = join(opts.dir, spec.name);
    const storeDir = join(nodeDir, 'jetstream');
    const configFile = join(nodeDir, 'nats.conf');
    const logFile = join(opts.logDir, `${spec.name}.log`);
    mkdirSync(storeDir, { recursive: true });
    writeFileSync(
      configFile,
      [
        `server_name: ${spec.name}`,
        `listen: "127.0.0.1:${spec.clientPort}"`,
        `http: "127.0.0.1:${spec.httpPort}"`,
        'jetstream {',
        `  store_dir: ${JSON.stringify(storeDir)}`,
        '}',
        'cluster {',
        `  name: ${clusterName}`,
        `  listen: "127.0.0.1:${spec.routePort}"`,
        // Every route, its own included (the server skips itself): any node can come back alone.
        `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
        '}',
        '',
      ].join('\n'),
    );
    const url = `nats://127.0.0.1:${spec.clientPort}`;
    const monitorUrl = `http://127.0.0.1:${spec.httpPort}`;
    const node: NatsNode & { launch(): Proc } = {
      name: spec.name,
      url,
      monitorUrl,
      pid: () => {
        const proc = procs.get(spec.name);
        return proc && proc.child.exitCode === null && proc.child.signalCode === null ? proc.child.pid : undefined;
      },
      launch(): Proc {
        const proc = launch(`nats-server ${spec.name}`, binary, ['-c', configFile], logFile);
        procs.set(spec.name, proc);
        return proc;
      },
      async stop() {
        await procs.get(spec.name)?.stop(stopTimeoutMs);
      },
      async start() {
        if (stopped) throw new Error('the cluster has been stopped');
        if (node.pid() !== undefined) throw new Error(`${spec.name} is running (pid ${node.pid()})`);
        const proc = node.launch();
        const deadline = Date.now() + timeoutMs;
        const left = (): number => Math.max(1, deadline - Date.now());
        const ready = async (): Promise<void> => {
          await waitFor(`${spec.name} healthy after restart`, () => healthy(monitorUrl), [proc], left());
          await waitFor(`${spec.name} caught up in every stream and consumer after restart`, () => caughtUp(allUrls(), allMonitorUrls(), allNames(), spec.name), [proc], left(), 200);
        };
        await readyOrStopped(proc, ready());
      },
    };
    return node;
  });

  const stopAll = async (): Promise<void> => {
    stopped = true;
    await Promise.all(nodes.map((n) => n.stop()));
    process.removeListener('exit', onExit);
  };

  try {
    const started = nodes.map((n) => n.launch());
    const monitorUrls = nodes.map((n) => n.monitorUrl);
    const names = nodes.map((n) => n.name);
    const urls = nodes.map((n) => n.url);
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    await waitFor('every node healthy', async () => (await Promise.all(monitorUrls.map((u) => healthy(u)))).every(Boolean), started, left());
    await waitFor('JetStream meta group formed (one leader, all current)', () => metaGroupFormed(monitorUrls, names), started, left());
    await waitFor(`a stream with ${size} replicas created and deleted`, () => replicatedStreamWorks(urls, size), started, left(), 250);
  } catch (err) {
    await stopAll();
    throw err;
  }

  return { urls: nodes.map((n) => n.url), nodes: nodes.map(({ name, url, monitorUrl, pid, stop, start }) => ({ name, url, monitorUrl, pid, stop, start })), stop: stopAll };
}
