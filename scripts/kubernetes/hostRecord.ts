// One cluster at a time per machine (kubelet's sysctls, iptables chains and /kubepods cgroups are
// machine-wide). A record in /run names the running cluster, its folders and what it must put
// back, so a cluster whose owner died without stop() is cleaned up by the next start (or `clean`).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { destroyOurSets, removeOurChains } from './firewall';
import {
  killContainers,
  killContainersOnce,
  mountsUnder,
  removeHostFiles,
  removeNewEmptyNftTables,
  removePodCgroups,
  removePodNetwork,
  restoreSysctls,
  unmountUnder,
} from './hostCleanup';
import { cniNetworkName } from './network';

const recordFile = '/run/hades-kube/cluster.json';

export interface HostRecord {
  ownerPid: number;
  dir: string;
  stateDir: string;
  podLogsDir: string;
  containerdSocket: string;
  sysctls: Record<string, string>;
  /** Process groups of the cluster's own processes. */
  pgids: number[];
  /** Host folders that kubelet or CNI write to and that did not exist before the cluster. */
  createdDirs: string[];
  /** nftables tables ("family name") that existed before the cluster. */
  nftTables: string[];
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Kills the recorded process groups whose leader still is one of ours (its command line names our folder). */
function killRecorded(record: HostRecord): void {
  for (const pgid of record.pgids) {
    let args = '';
    try {
      args = readFileSync(`/proc/${pgid}/cmdline`, 'utf8');
    } catch {
      continue; // gone
    }
    if (!args.includes(record.dir)) continue; // the id was reused by someone else's process
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
}

export function readRecord(): HostRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile, 'utf8')) as HostRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(record: HostRecord): void {
  mkdirSync(dirname(recordFile), { recursive: true });
  writeFileSync(recordFile, JSON.stringify(record, null, 2));
}

/** Refuses while another live process owns a cluster; cleans up after one whose owner is gone. */
export async function claimHost(): Promise<void> {
  const previous = readRecord();
  if (!previous) return;
  if (previous.ownerPid !== process.pid && alive(previous.ownerPid)) {
    throw new Error(`a Kubernetes cluster of process ${previous.ownerPid} (folder ${previous.dir}) is running: stop it first`);
  }
  await cleanHost(previous);
}

type Step = <T>(name: string, fn: () => Promise<T>) => Promise<T>;
const untimed: Step = (_name, fn) => fn();

/** Kills what is left of the cluster and undoes its changes to the host; idempotent. */
export async function cleanHost(record: HostRecord, step: Step = untimed): Promise<string[]> {
  killRecorded(record);
  await step('  kill containers', () => killContainers(record.containerdSocket));
  await step('  unmount', () => unmountUnder(record.stateDir));
  removePodCgroups();
  await step('  remove pod network', () => removePodNetwork());
  await step('  remove iptables chains', () => removeOurChains());
  await step('  remove ipsets', () => destroyOurSets());
  await step('  remove nftables tables', () => removeNewEmptyNftTables(record.nftTables));
  removeHostFiles(record.podLogsDir, cniNetworkName, record.createdDirs);
  restoreSysctls(record.sysctls);
  const problems: string[] = [];
  const mounts = mountsUnder(record.stateDir);
  if (mounts.length > 0) problems.push(`still mounted: ${mounts.join(', ')}`);
  else await step('  remove state', async () => rmSync(record.stateDir, { recursive: true, force: true }));
  rmSync(dirname(recordFile), { recursive: true, force: true });
  return problems;
}

/** On a sudden exit only synchronous work runs: kill every process; the next start cleans up the rest. */
export function killSync(record: HostRecord): void {
  killRecorded(record);
  killContainersOnce(record.containerdSocket);
}
