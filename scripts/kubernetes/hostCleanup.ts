// What stop() undoes on the host, beyond its own processes: containers and shims of the cluster's
// containerd, mounts under the state folder, the pod cgroups, the pod bridge and its veths,
// kubelet's /var/log/containers links and the sysctls kubelet changes.
import { existsSync, readFileSync, readlinkSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, tryRun } from './processes';
import { readdirSafe, readSafe, subtree } from './safeFs';
import { bridgeName } from './network';

/** Set by kubelet (protectKernelDefaults: false) to its liking; put back as they were. */
export const kubeletSysctls = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

export function readSysctls(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of kubeletSysctls) {
    try {
      values[key] = readFileSync(join('/proc/sys', key), 'utf8').trim();
    } catch {
      /* not on this kernel */
    }
  }
  return values;
}

export function restoreSysctls(values: Record<string, string>): void {
  for (const [key, value] of Object.entries(values)) {
    try {
      writeFileSync(join('/proc/sys', key), value);
    } catch {
      /* read-only here: nothing was changed either */
    }
  }
}

const cgroupFs = '/sys/fs/cgroup';
/** kubelet's pod cgroups (cgroupfs driver, default cgroup root). */
const podCgroup = 'kubepods';

function cgroupDirs(): string[] {
  const dirs: string[] = [];
  for (const hierarchy of readdirSafe(cgroupFs)) {
    const dir = join(cgroupFs, hierarchy, podCgroup);
    if (existsSync(dir)) dirs.push(dir);
  }
  if (existsSync(join(cgroupFs, 'cgroup.controllers')) && existsSync(join(cgroupFs, podCgroup))) dirs.push(join(cgroupFs, podCgroup));
  return dirs;
}

function podCgroupPids(): number[] {
  const pids = new Set<number>();
  for (const root of cgroupDirs()) {
    for (const dir of subtree(root)) {
      for (const line of readSafe(join(dir, 'cgroup.procs')).split('\n')) if (line) pids.add(Number(line));
    }
  }
  return [...pids];
}

/** The cluster containerd's shims: they are their own sessions, so killing containerd leaves them. */
function shimPids(containerdSocket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = readSafe(join('/proc', entry, 'cmdline')).split('\0');
    if (args[0]?.includes('containerd-shim') && args.includes(containerdSocket)) pids.push(Number(entry));
  }
  return pids;
}

/** Sends SIGKILL to every container process and shim of the cluster; answers how many it found. */
export function killContainersOnce(containerdSocket: string): number {
  const pids = [...podCgroupPids(), ...shimPids(containerdSocket)];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids.length;
}

/** Kills every container process of the cluster and the shims that held them, until none is left. */
export async function killContainers(containerdSocket: string): Promise<void> {
  for (let i = 0; i < 50 && killContainersOnce(containerdSocket) > 0; i++) await sleep(100);
}

export function removePodCgroups(): void {
  for (const root of cgroupDirs()) {
    for (const dir of subtree(root)) {
      try {
        rmdirSync(dir);
      } catch {
        /* still busy or gone */
      }
    }
  }
}

function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points at or under `dir`, the latest (innermost) first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readSafe('/proc/self/mountinfo')
    .split('\n')
    .map((line) => unescapeMount(line.split(' ')[4] ?? ''))
    .filter((mount) => mount === dir || mount.startsWith(prefix))
    .reverse();
}

export async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const mounts = [...new Set(mountsUnder(dir))];
    if (mounts.length === 0) return;
    // Lazy: the processes are gone, and a detached mount goes as soon as nothing holds it.
    for (let i = 0; i < mounts.length; i += 100) await tryRun('umount', ['-l', ...mounts.slice(i, i + 100)]);
  }
}

export async function removePodNetwork(): Promise<void> {
  const links = (await tryRun('ip', ['-o', 'link', 'show', 'master', bridgeName])) ?? '';
  for (const m of links.matchAll(/^\d+: ([^@:\s]+)/gm)) await tryRun('ip', ['link', 'delete', m[1]!]);
  if ((await tryRun('ip', ['link', 'show', bridgeName])) !== undefined) await tryRun('ip', ['link', 'delete', bridgeName]);
}

/**
 * Folders that kubelet and the CNI library write outside the state folder whatever they are told:
 * /var/log/containers (log links), /var/lib/kubelet/device-plugins (a socket), /var/lib/cni (results).
 */
export const hostDirs = ['/var/log/containers', '/var/lib/kubelet', '/var/lib/cni'];

/** Removes our entries from those folders, and the folders that did not exist before the cluster. */
export function removeHostFiles(podLogsDir: string, network: string, createdDirs: string[]): void {
  for (const entry of readdirSafe('/var/log/containers')) {
    const path = join('/var/log/containers', entry);
    try {
      if (readlinkSync(path).startsWith(podLogsDir)) unlinkSync(path);
    } catch {
      /* not a link */
    }
  }
  const results = '/var/lib/cni/results';
  const sandboxes = readdirSafe(results)
    .map((name) => new RegExp(`^${network}-([0-9a-f]{64})-`).exec(name)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const name of readdirSafe(results)) {
    if (name.startsWith(`${network}-`) || sandboxes.some((id) => name === `cni-loopback-${id}-lo`)) rmSync(join(results, name), { force: true });
  }
  rmSync('/var/lib/kubelet/device-plugins/kubelet.sock', { force: true });
  for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
}

/** nftables tables that iptables-nft made for the cluster's chains stay behind empty; drop those. */
export async function removeNewEmptyNftTables(before: string[]): Promise<void> {
  const now = await nftTables();
  for (const table of now.filter((t) => !before.includes(t))) {
    const listing = (await tryRun('nft', ['list', 'table', ...table.split(' ')])) ?? '';
    const hasRules = listing.split('\n').some((line) => /^\s+(?!type |policy |chain |}|$)\S/.test(line));
    if (!hasRules) await tryRun('nft', ['delete', 'table', ...table.split(' ')]);
  }
}

export async function nftTables(): Promise<string[]> {
  const out = (await tryRun('nft', ['list', 'tables'])) ?? '';
  return out
    .split('\n')
    .map((line) => /^table (\S+ \S+)$/.exec(line.trim())?.[1])
    .filter((t): t is string => t !== undefined);
}
