// Closes kube-router's start-up window (its issue #873): it programs a pod's firewall chain only
// after the pod reports its IP, so a pod's first connections would pass whatever its policy says.
// Until kube-router has programmed a pod, new connections from or to its IP are dropped in the
// mangle table, which runs before kube-router's filter chains (they re-take position 1 of FORWARD
// on every sync, and accept traffic that a programmed peer's chain marks as allowed).
// DROP, not REJECT: a dropped SYN is sent again after a second, so a connection that policy allows
// still succeeds, once the pod is programmed, and one that it denies fails as kube-router decides.
import { join } from 'node:path';
import type { ApiClient } from './api';
import { run } from './processes';
import { readdirSafe, readSafe } from './safeFs';
import { podCidr, podGateway } from './network';

export const gateChain = 'HADES-KUBE-GATE';
const srcChain = 'HADES-KUBE-SRC';
const dstChain = 'HADES-KUBE-DST';

// The ready list is a pair of mangle chains, not an ipset: kube-router saves every ipset of the host
// and restores them all on each sync, which would undo additions made meanwhile.
function readyRules(ready: Iterable<string>): string {
  const ips = [...ready];
  return [
    '*mangle',
    `-F ${srcChain}`,
    `-F ${dstChain}`,
    ...ips.map((ip) => `-A ${srcChain} -s ${ip}/32 -j RETURN`),
    `-A ${srcChain} -j DROP`,
    ...ips.map((ip) => `-A ${dstChain} -d ${ip}/32 -j RETURN`),
    `-A ${dstChain} -j DROP`,
    'COMMIT',
    '',
  ].join('\n');
}

export async function installGate(): Promise<void> {
  const rules = [
    '*mangle',
    `:${gateChain} - [0:0]`,
    `:${srcChain} - [0:0]`,
    `:${dstChain} - [0:0]`,
    `-A ${gateChain} -m conntrack ! --ctstate NEW -j RETURN`,
    `-A ${gateChain} -s ${podCidr} -j ${srcChain}`,
    `-A ${gateChain} -d ${podGateway}/32 -j RETURN`,
    `-A ${gateChain} -d ${podCidr} -j ${dstChain}`,
    `-I FORWARD 1 -j ${gateChain}`,
    `-I INPUT 1 -j ${gateChain}`,
    'COMMIT',
    '',
  ].join('\n');
  await run('iptables-restore', ['--noflush'], { input: rules });
  await run('iptables-restore', ['--noflush'], { input: readyRules([]) });
}

interface PodList {
  items?: { metadata?: { name?: string; namespace?: string }; status?: { phase?: string; podIPs?: { ip?: string }[] } }[];
}

export interface Gate {
  stop(): void;
}

/** The pods of the node that can send or receive, as kube-router's rule comments name them, by IP. */
async function livePods(api: ApiClient, nodeName: string): Promise<Map<string, string>> {
  const { body } = await api.get<PodList>(`/api/v1/pods?fieldSelector=spec.nodeName%3D${nodeName}`);
  const byIp = new Map<string, string>();
  for (const pod of body.items ?? []) {
    if (pod.status?.phase !== 'Pending' && pod.status?.phase !== 'Running') continue;
    for (const { ip } of pod.status.podIPs ?? []) {
      if (ip) byIp.set(ip, `POD name:${pod.metadata?.name} namespace: ${pod.metadata?.namespace} `);
    }
  }
  return byIp;
}

/**
 * Watches the pod IPs that host-local hands out; an IP becomes ready once kube-router's FORWARD
 * chain jumps to the firewall chain of the pod that holds it, and stops being so when it is freed.
 */
export function runGate(ipamDir: string, api: ApiClient, nodeName: string, intervalMs = 200): Gate {
  const ready = new Map<string, string>(); // ip -> its IPAM record (the sandbox id) when it became ready
  let written = '';
  const tick = async (): Promise<void> => {
    const allocated = new Map<string, string>();
    for (const name of readdirSafe(ipamDir)) {
      if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) allocated.set(name, readSafe(join(ipamDir, name)));
    }
    for (const [ip, owner] of ready) if (allocated.get(ip) !== owner) ready.delete(ip);
    const pending = [...allocated.keys()].filter((ip) => !ready.has(ip));
    if (pending.length > 0) {
      const pods = await livePods(api, nodeName);
      const waiting = pending.filter((ip) => pods.has(ip));
      if (waiting.length > 0) {
        const saved = await run('iptables-save', ['-t', 'filter']);
        const rules = saved.split('\n').filter((l) => l.startsWith('-A KUBE-ROUTER-FORWARD '));
        for (const ip of waiting) {
          const who = pods.get(ip)!;
          if (rules.some((rule) => rule.includes(` -s ${ip}/32 `) && rule.includes(who))) ready.set(ip, allocated.get(ip)!);
        }
      }
    }
    const wanted = readyRules([...ready.keys()].sort());
    if (wanted !== written) {
      await run('iptables-restore', ['--noflush'], { input: wanted });
      written = wanted;
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick()
      .catch(() => undefined) // the API server may be busy or stopping: try again next tick
      .finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
