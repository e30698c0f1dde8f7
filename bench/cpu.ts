// Where the machine's CPU goes during a scenario: CPU time of each group of processes (a
// process group: a role and everything it started) and of the whole machine, from /proc.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux.

/** CPU ms used so far by every process of each named group (live processes only). */
function groupCpuMs(groups: Record<string, (stat: ProcStat) => boolean>): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(Object.keys(groups).map((k) => [k, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: ProcStat;
    try {
      stat = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
    } catch {
      continue; // gone meanwhile
    }
    for (const [name, match] of Object.entries(groups)) {
      if (match(stat)) {
        out[name] = (out[name] ?? 0) + stat.cpuMs;
        break;
      }
    }
  }
  return out;
}

interface ProcStat {
  pid: number;
  comm: string;
  pgrp: number;
  cpuMs: number;
}

function parseStat(text: string): ProcStat {
  // comm may hold spaces and parentheses: the fields after it start at the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // After comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
  return { pid: Number(text.slice(0, text.indexOf(' '))), comm, pgrp: Number(f[2]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS };
}

/** Busy and total CPU ms of the whole machine so far (all cores). */
function machineMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}

export interface CpuUse {
  /** The share of all cores that was busy, 0–1. */
  busyShare: number;
  /** CPU ms per job by group; `other` is what no group holds (containers, shims, CLIs, the bench). */
  perJobMs: Record<string, number>;
}

/** Starts counting; `stop(jobs)` says what each group used per job since. Groups match a process by its stat. */
export function cpuMeter(groups: Record<string, (stat: ProcStat) => boolean>) {
  const g0 = groupCpuMs(groups);
  const m0 = machineMs();
  return {
    stop(jobs: number): CpuUse {
      const g1 = groupCpuMs(groups);
      const m1 = machineMs();
      const perJobMs: Record<string, number> = {};
      let known = 0;
      for (const k of Object.keys(groups)) {
        // A group whose process ended meanwhile would count negative: never below zero.
        const used = Math.max(0, (g1[k] ?? 0) - (g0[k] ?? 0));
        known += used;
        perJobMs[k] = used / jobs;
      }
      const busy = m1.busy - m0.busy;
      perJobMs.other = Math.max(0, busy - known) / jobs;
      perJobMs.total = busy / jobs;
      return { busyShare: busy / Math.max(1, m1.total - m0.total), perJobMs };
    },
  };
}

/** Groups for a bench stack: Hades's roles by pid, its servers by process group, Docker's daemons by name. */
export function stackGroups(pids: Record<string, number | undefined>, pgrps: Record<string, number | undefined>): Record<string, (s: ProcStat) => boolean> {
  const groups: Record<string, (s: ProcStat) => boolean> = {};
  for (const [name, pid] of Object.entries(pids)) if (pid !== undefined) groups[name] = (s) => s.pid === pid;
  for (const [name, pgrp] of Object.entries(pgrps)) if (pgrp !== undefined) groups[name] = (s) => s.pgrp === pgrp;
  groups.dockerd = (s) => s.comm === 'dockerd' || s.comm === 'docker-proxy';
  groups.containerd = (s) => s.comm === 'containerd' || s.comm.startsWith('containerd-shim');
  return groups;
}
