// Removes every iptables chain and ipset that kubelet, the CNI plugins, kube-router or the policy
// gate made, with the rules elsewhere that jump to them. Docker's chains (DOCKER*) and its rules
// are never touched: only rules that name one of our chains are deleted.
import { tryRun } from './processes';

const ourChain = /^(KUBE-|CNI-|HADES-KUBE-)/;
const ourSet = /^(inet6:)?(KUBE-|kube-router|HADES-KUBE-)/;
const tables = ['filter', 'nat', 'mangle', 'raw'];

/** iptables-restore input that deletes our chains of one table and every rule that jumps to them. */
export function removalScript(table: string, saved: string): string | undefined {
  const chains: string[] = [];
  const deletions: string[] = [];
  for (const line of saved.split('\n')) {
    const declared = /^:(\S+) /.exec(line)?.[1];
    if (declared && ourChain.test(declared) && !declared.startsWith('DOCKER')) chains.push(declared);
  }
  if (chains.length === 0) return undefined;
  const ours = new Set(chains);
  for (const line of saved.split('\n')) {
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (!rule || ours.has(rule[1]!)) continue;
    const target = /(?:^| )-[jg] (\S+)/.exec(rule[2]!)?.[1];
    if (target && ours.has(target)) deletions.push(`-D ${rule[1]} ${rule[2]}`);
  }
  return [`*${table}`, ...deletions, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}

export async function removeOurChains(): Promise<void> {
  for (const family of ['iptables', 'ip6tables']) {
    for (const table of tables) {
      const saved = await tryRun(`${family}-save`, ['-t', table]);
      if (!saved) continue;
      const script = removalScript(table, saved);
      if (script && (await tryRun(`${family}-restore`, ['--noflush'], script)) === undefined) {
        // One bad line fails the whole batch: fall back to one command at a time.
        for (const line of script.split('\n').filter((l) => l.startsWith('-'))) {
          await tryRun(family, ['-t', table, ...splitRule(line)]);
        }
      }
    }
  }
}

/** Splits an iptables-save rule into arguments, keeping "quoted comments" whole. */
function splitRule(line: string): string[] {
  return (line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((a) => (a.startsWith('"') ? a.slice(1, -1) : a));
}

export async function destroyOurSets(): Promise<void> {
  const names = (await tryRun('ipset', ['list', '-n'])) ?? '';
  const ours = names.split('\n').filter((n) => ourSet.test(n));
  // A set still named by another set (list:set) can only go after it: try twice.
  for (let round = 0; round < 2; round++) {
    for (const name of ours) await tryRun('ipset', ['destroy', name]);
  }
}

export async function leftovers(): Promise<{ chains: string[]; sets: string[] }> {
  const chains: string[] = [];
  for (const family of ['iptables', 'ip6tables']) {
    for (const table of tables) {
      const saved = (await tryRun(`${family}-save`, ['-t', table])) ?? '';
      for (const m of saved.matchAll(/^:(\S+) /gm)) if (ourChain.test(m[1]!)) chains.push(`${family}/${table}/${m[1]}`);
    }
  }
  const sets = ((await tryRun('ipset', ['list', '-n'])) ?? '').split('\n').filter((n) => ourSet.test(n));
  return { chains, sets };
}
