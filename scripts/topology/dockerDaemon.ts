// A second Docker daemon on this machine, next to the main one (/var/run/docker.sock), for
// multi-node tests: its own socket, data root, exec root, managed containerd, cgroup parent and
// bridge interface, and no iptables rules (two daemons would fight over the same chains). Its
// containers have no way out of their bridge: it is for jobs that need no network. copyImages()
// gives it images of the main daemon (no registry needed).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { basename, join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { launch, readyOrStopped, run, sleep, tryRun, waitUntil } from '../kubernetes/processes';
import type { Proc } from '../kubernetes/processes';
import { podCidr, serviceCidr } from '../kubernetes/network';
import { readdirSafe, readSafe, subtree } from '../kubernetes/safeFs';
import { exitOnSignals, projectRoot } from '../services';

export interface SecondDockerdOptions {
  /** Socket, data root, exec root, pid file and config go here (keep the path short: unix socket paths end at 107 bytes). */
  dir: string;
  /** dockerd (with its containerd) logs to `<logDir>/dockerd-<name>.log`. */
  logDir: string;
  /** Names the log file and the cgroup parent (`/hades-docker-<name>`); letters, digits, `-`, `_`, `.`. */
  name: string;
  /** Bound on start-up; 60 s unless told. */
  timeoutMs?: number;
}

export interface SecondDockerd {
  /** unix://<dir>/docker.sock: for DOCKER_HOST or `docker -H`. */
  host: string;
  /** <dir>/docker.sock: for `new Docker({ socketPath })`. */
  socketPath: string;
  /** The bridge interface made for it (hades-br<n>) and its subnet (10.201.<n>.0/24). */
  bridge: string;
  subnet: string;
  /** dockerd's pid while it runs. */
  pid: number | undefined;
  /**
   * Stops dockerd with SIGTERM (it stops its containers first: each gets its stop timeout, 10 s by
   * default, before SIGKILL; then dockerd stops its containerd), or with `{ kill: true }` at once
   * with SIGKILL (a crashed node). Then kills whatever is left of its containerd, shims and
   * containers, unmounts what is still mounted under `dir`, removes its cgroups and the bridge.
   * Rejects, naming them, when processes, mounts, cgroups or the bridge remain. Safe to call twice.
   */
  stop(opts?: { kill?: boolean }): Promise<void>;
}

const stopTimeoutMs = 30_000;
/** Each daemon's bridge subnet is 10.201.<n>.0/24 and its pool for `docker network create` 10.210.<16n>.0/20. */
const maxDaemons = 16;

function dockerBinDir(): string {
  // The engine that scripts/setup-docker.sh builds, the one the main daemon runs.
  const script = readSafe(join(projectRoot, 'scripts', 'setup-docker.sh'));
  const version = /^MOBY_VERSION=(\S+)/m.exec(script)?.[1];
  const candidates = version ? [join(projectRoot, '.tools', 'docker', version, 'bin')] : [];
  candidates.push(...readdirSafe(join(projectRoot, '.tools', 'docker')).map((v) => join(projectRoot, '.tools', 'docker', v, 'bin')));
  const found = candidates.find((dir) => existsSync(join(dir, 'dockerd')) && existsSync(join(dir, 'docker-proxy')));
  if (!found) throw new Error(`dockerd not found under ${join(projectRoot, '.tools', 'docker')}; run bash scripts/setup-docker.sh`);
  return found;
}

// --- addresses ------------------------------------------------------------------------------

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

interface Net {
  base: number;
  bits: number;
}

function parseNet(cidr: string): Net | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(cidr);
  if (!m?.[1]) return undefined;
  const bits = m[2] === undefined ? 32 : Number(m[2]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (toInt(m[1]) & mask) >>> 0, bits };
}

function overlaps(a: Net, b: Net): boolean {
  const bits = Math.min(a.bits, b.bits);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/** Every IPv4 network this machine routes or has an address in (all tables), plus those the local Kubernetes uses. */
async function usedNets(): Promise<Net[]> {
  const nets: Net[] = [];
  const routes = (await tryRun('ip', ['-4', 'route', 'show', 'table', 'all'])) ?? '';
  for (const line of routes.split('\n')) {
    const words = line.trim().split(/\s+/);
    // "[type] PREFIX ..." (type: local, broadcast, unreachable, ...); "default" matches everything, so skip it.
    const prefix = words.find((w) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(w));
    if (prefix && words.indexOf(prefix) <= 1) {
      const net = parseNet(prefix);
      if (net) nets.push(net);
    }
  }
  const addrs = (await tryRun('ip', ['-4', '-o', 'addr', 'show'])) ?? '';
  for (const m of addrs.matchAll(/\binet (\d+\.\d+\.\d+\.\d+\/\d+)/g)) {
    const net = m[1] && parseNet(m[1]);
    if (net) nets.push(net);
  }
  for (const cidr of [podCidr, serviceCidr]) {
    const net = parseNet(cidr);
    if (net) nets.push(net);
  }
  return nets;
}

/** Bridges this process made and has not removed yet (their dockerd may not run yet). */
const bridgesInUse = new Set<string>();

/** A running dockerd was started with `--bridge <bridge>`. */
function dockerdUsing(bridge: string): boolean {
  return readdirSafe('/proc').some((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    const args = readSafe(join('/proc', entry, 'cmdline')).split('\0');
    if (basename(args[0] ?? '') !== 'dockerd') return false;
    return args.some((a, i) => a === `--bridge=${bridge}` || (a === '--bridge' && args[i + 1] === bridge) || a === `-b=${bridge}` || (a === '-b' && args[i + 1] === bridge));
  });
}

/**
 * Makes hades-br<n> with 10.201.<n>.1/24 for the first n whose name and addresses are free,
 * `preferred` first (the n a data root had before: the networks it keeps are in that n's pool).
 */
async function createBridge(preferred: number | undefined): Promise<{ index: number; bridge: string; subnet: string; gateway: string; pool: string }> {
  const used = await usedNets();
  const order = Array.from({ length: maxDaemons }, (_, i) => i);
  if (preferred !== undefined && preferred >= 0 && preferred < maxDaemons) order.unshift(preferred);
  for (const n of order) {
    const bridge = `hades-br${n}`;
    const subnet = `10.201.${n}.0/24`;
    const pool = `10.210.${n * 16}.0/20`;
    if (existsSync(join('/sys/class/net', bridge))) {
      // Left by a run that was killed before it could clean up: no dockerd uses it, so take it back.
      if (bridgesInUse.has(bridge) || dockerdUsing(bridge)) continue;
      await tryRun('ip', ['link', 'del', bridge]);
      if (existsSync(join('/sys/class/net', bridge))) continue;
    }
    if ([subnet, pool].some((cidr) => used.some((u) => overlaps(u, parseNet(cidr)!)))) continue;
    // `ip link add` fails when another caller took the name meanwhile: then try the next one.
    if ((await tryRun('ip', ['link', 'add', 'name', bridge, 'type', 'bridge'])) === undefined) continue;
    bridgesInUse.add(bridge);
    const gateway = `10.201.${n}.1`;
    try {
      await run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
      await run('ip', ['link', 'set', bridge, 'up']);
    } catch (err) {
      await tryRun('ip', ['link', 'del', bridge]);
      bridgesInUse.delete(bridge);
      throw err;
    }
    return { index: n, bridge, subnet, gateway, pool };
  }
  throw new Error(`no free bridge: hades-br0..hades-br${maxDaemons - 1} exist or 10.201.<n>.0/24 / 10.210.0.0/16 overlap a route (ip -4 route show table all)`);
}

// --- what is left on the host ---------------------------------------------------------------

function cgroupDirs(cgroupParent: string): string[] {
  const root = '/sys/fs/cgroup';
  const dirs = readdirSafe(root)
    .map((h) => join(root, h, cgroupParent))
    .filter((d) => existsSync(d));
  if (existsSync(join(root, 'cgroup.controllers')) && existsSync(join(root, cgroupParent))) dirs.push(join(root, cgroupParent));
  return dirs;
}

/** Programs of a Docker daemon that may outlive it; only these are killed by command line. */
const daemonPrograms = /^(dockerd|containerd|containerd-shim.*|docker-proxy|runc|docker-init)$/;

/** The daemon's containerd, shims and proxies (their command lines name a path under `dir`) and every process in its cgroups. */
function leftoverPids(dir: string, cgroupParent: string): number[] {
  const pids = new Set<number>();
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const args = readSafe(join('/proc', entry, 'cmdline')).split('\0');
    if (!daemonPrograms.test(basename(args[0] ?? ''))) continue;
    if (args.some((a) => a === dir || a.startsWith(`${dir}/`) || a.includes(`unix://${dir}/`))) pids.add(Number(entry));
  }
  for (const cg of cgroupDirs(cgroupParent)) {
    for (const sub of subtree(cg)) {
      for (const line of readSafe(join(sub, 'cgroup.procs')).split('\n')) if (line) pids.add(Number(line));
    }
  }
  return [...pids];
}

/**
 * Bridges of the daemon's own networks (`docker network create`): dockerd keeps them when it
 * stops (they belong to its data root). Found by their address in the daemon's pool.
 */
function networkBridges(pool: string): string[] {
  const poolNet = parseNet(pool);
  if (!poolNet) return [];
  let out = '';
  try {
    out = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+(br-[0-9a-f]+)\s+inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line);
    const net = m?.[2] && parseNet(m[2]);
    if (m?.[1] && net && net.bits >= poolNet.bits && overlaps(net, poolNet)) names.add(m[1]);
  }
  return [...names];
}

function removeCgroups(cgroupParent: string): void {
  for (const cg of cgroupDirs(cgroupParent)) {
    for (const sub of subtree(cg)) {
      try {
        rmdirSync(sub);
      } catch {
        /* busy or gone */
      }
    }
  }
}

function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readSafe('/proc/self/mountinfo')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescapeMount)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

// --- the daemon -----------------------------------------------------------------------------

export async function startSecondDockerd(opts: SecondDockerdOptions): Promise<SecondDockerd> {
  if (!/^[A-Za-z0-9_.-]+$/.test(opts.name)) throw new Error(`name must be letters, digits, -, _ or . (got ${JSON.stringify(opts.name)})`);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const binDir = dockerBinDir();
  const tooLong = (d: string): string | undefined => {
    const longest = join(d, 'exec', 'containerd', 'containerd.sock.ttrpc');
    return Buffer.byteLength(longest) > 107 ? `dir is too long: ${longest} exceeds the 107 bytes of a unix socket path` : undefined;
  };
  const early = tooLong(resolve(opts.dir));
  if (early) throw new Error(early);
  mkdirSync(opts.dir, { recursive: true });
  mkdirSync(opts.logDir, { recursive: true });
  const dir = realpathSync(opts.dir); // /proc/self/mountinfo and cmdlines name resolved paths
  const socketPath = join(dir, 'docker.sock');
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const late = tooLong(dir);
  if (late) throw new Error(late);
  if (existsSync(socketPath)) {
    const answering = await ping(socketPath).catch(() => false);
    if (answering) throw new Error(`a Docker daemon already answers on ${socketPath}`);
  }
  const configFile = join(dir, 'daemon.json');
  writeFileSync(configFile, '{}\n'); // not /etc/docker/daemon.json: nothing of the main daemon's settings
  const cgroupParent = `/hades-docker-${opts.name}`;
  const logFile = join(opts.logDir, `dockerd-${opts.name}.log`);

  const indexFile = join(dir, 'bridge-index');
  const previous = Number.parseInt(readSafe(indexFile), 10);
  const net = await createBridge(Number.isNaN(previous) ? undefined : previous);
  writeFileSync(indexFile, `${net.index}\n`);
  let proc: Proc | undefined;
  let stopped = false;

  const cleanupSync = (): void => {
    // Last resort when this process exits without stop(): nothing asynchronous runs any more, so
    // wait by blocking, briefly and bounded, for the killed processes to go.
    if (proc?.child.pid !== undefined) {
      try {
        process.kill(-proc.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const blocker = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 40; i++) {
      const pids = leftoverPids(dir, cgroupParent);
      if (pids.length === 0) break;
      killAll(pids);
      Atomics.wait(blocker, 0, 0, 50);
    }
    for (const m of mountsUnder(dir)) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      } catch {
        /* not mounted any more */
      }
    }
    removeCgroups(cgroupParent);
    for (const bridge of [net.bridge, ...networkBridges(net.pool)]) {
      try {
        execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
  };
  const onExit = (): void => {
    if (!stopped) cleanupSync();
  };
  process.on('exit', onExit);
  exitOnSignals();

  const stop = async (stopOpts: { kill?: boolean } = {}): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Asked before it stops: dockerd keeps these interfaces when it stops (they belong to its data root).
    const ownBridges = stopOpts.kill ? [] : await networkBridgesOf(socketPath);
    try {
      if (stopOpts.kill && proc?.child.pid !== undefined) {
        try {
          process.kill(-proc.child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await proc?.stop(stopTimeoutMs);
      // dockerd stops its containerd on a clean exit; after SIGKILL (or a crash) containerd, its
      // shims and the containers stay: kill them until none is left.
      const deadline = Date.now() + 10_000;
      for (let pids = leftoverPids(dir, cgroupParent); pids.length > 0 && Date.now() < deadline; pids = leftoverPids(dir, cgroupParent)) {
        killAll(pids);
        await sleep(100);
      }
      for (const m of mountsUnder(dir)) {
        if ((await tryRun('umount', [m])) === undefined) await tryRun('umount', ['-l', m]);
      }
      removeCgroups(cgroupParent);
      for (const bridge of new Set([net.bridge, ...ownBridges, ...networkBridges(net.pool)])) {
        if (existsSync(join('/sys/class/net', bridge))) await tryRun('ip', ['link', 'del', bridge]);
      }
      if (!existsSync(join('/sys/class/net', net.bridge))) bridgesInUse.delete(net.bridge);
    } finally {
      process.removeListener('exit', onExit);
    }
    const left: string[] = [];
    const pids = leftoverPids(dir, cgroupParent);
    if (pids.length) left.push(`processes ${pids.join(', ')}`);
    const mounts = mountsUnder(dir);
    if (mounts.length) left.push(`mounts ${mounts.join(', ')}`);
    const bridges = [...new Set([net.bridge, ...ownBridges, ...networkBridges(net.pool)])].filter((b) => existsSync(join('/sys/class/net', b)));
    if (bridges.length) left.push(`interfaces ${bridges.join(', ')}`);
    if (cgroupDirs(cgroupParent).length) left.push(`cgroups ${cgroupDirs(cgroupParent).join(', ')}`);
    if (left.length) throw new Error(`second dockerd ${opts.name} left behind: ${left.join('; ')}`);
  };

  try {
    const args = [
      '--host', `unix://${socketPath}`,
      '--data-root', dataRoot,
      '--exec-root', execRoot,
      '--pidfile', join(dir, 'docker.pid'),
      '--config-file', configFile,
      // As scripts/setup.sh starts the main daemon: the classic image store, and no time namespace
      // (Debian's runc 1.1 has none).
      '--storage-driver', 'overlay2',
      '--userland-proxy-path', join(binDir, 'docker-proxy'),
      '--feature', 'time-namespaces=false',
      // The main daemon owns the iptables chains; this one adds no rule at all.
      '--iptables=false', '--ip6tables=false', '--ip-masq=false',
      '--bridge', net.bridge,
      // No --default-address-pool: with one, a daemon that finds its old default network at start
      // deletes the interface docker0 (moby daemon_unix.go, "Clear stale bridge network"), which
      // is the main daemon's bridge, and every container of the main daemon then fails to start.
      // This daemon makes no network but its default one, so it needs no pool.
      '--cgroup-parent', cgroupParent,
    ];
    // No --containerd: dockerd starts its own containerd (socket under the exec root).
    // PATH: docker-proxy from the build, containerd, runc and docker-init from Debian.
    const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    const started = launch(`dockerd ${opts.name}`, join(binDir, 'dockerd'), args, logFile, env);
    proc = started;
    await readyOrStopped(started, waitUntil(`dockerd ${opts.name} answering /_ping on ${socketPath}`, () => ping(socketPath), [started], timeoutMs));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    host: `unix://${socketPath}`,
    socketPath,
    bridge: net.bridge,
    subnet: net.subnet,
    get pid() {
      const child = proc?.child;
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    stop,
  };
}

/** GET over the daemon's unix socket, bounded. */
function getOverSocket(socketPath: string, path: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET /_ping over the unix socket answers 200 "OK". */
async function ping(socketPath: string): Promise<boolean> {
  const { status, body } = await getOverSocket(socketPath, '/_ping');
  return status === 200 && body === 'OK';
}

/** Interface names of the daemon's own bridge networks, asked of the daemon itself (none if it does not answer). */
async function networkBridgesOf(socketPath: string): Promise<string[]> {
  try {
    const { status, body } = await getOverSocket(socketPath, '/networks', 5000);
    if (status !== 200) return [];
    const networks = JSON.parse(body) as { Id: string; Name: string; Driver: string; Options?: Record<string, string> }[];
    return networks
      .filter((n) => n.Driver === 'bridge' && n.Name !== 'bridge')
      .map((n) => n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`);
  } catch {
    return [];
  }
}

// --- images ---------------------------------------------------------------------------------

/** Reads a `docker load` response to its end; rejects on an error line. */
function loadResult(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (d: Buffer | string) => (text += d.toString()));
    stream.on('error', reject);
    stream.on('end', () => {
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          const msg = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
          if (msg.error || msg.errorDetail) return reject(new Error(msg.errorDetail?.message ?? msg.error));
        } catch {
          /* not JSON: keep it in the text */
        }
      }
      resolve(text);
    });
  });
}

/**
 * Copies images from one daemon to another: `docker save` streamed into `docker load`, one image
 * at a time, no file in between. An image the target already has (same image ID) is skipped.
 */
export async function copyImages(fromDocker: Docker, toDocker: Docker, images: string[]): Promise<{ copied: string[]; skipped: string[] }> {
  const copied: string[] = [];
  const skipped: string[] = [];
  for (const image of images) {
    const source = await fromDocker
      .getImage(image)
      .inspect()
      .catch((err: unknown) => {
        throw new Error(`image ${image} not found on the source daemon: ${err instanceof Error ? err.message : String(err)}`);
      });
    const present = await toDocker
      .getImage(image)
      .inspect()
      .catch(() => undefined);
    if (present?.Id === source.Id) {
      skipped.push(image);
      continue;
    }
    const tar = await fromDocker.getImage(image).get();
    const loaded = new Promise<never>((_, reject) => tar.on('error', (err: Error) => reject(new Error(`docker save ${image}: ${err.message}`))));
    await Promise.race([toDocker.loadImage(tar, { quiet: true }).then(loadResult), loaded]);
    const after = await toDocker.getImage(image).inspect();
    if (after.Id !== source.Id) throw new Error(`docker load of ${image} gave image ${after.Id}, not ${source.Id}`);
    copied.push(image);
  }
  return { copied, skipped };
}
