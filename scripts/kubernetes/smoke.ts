// Proves a local cluster does what Hades's tests need, then that stop() leaves the host clean:
//   npx tsx scripts/kubernetes/smoke.ts [dir]
// pod logs, a local-path volume shared by two pods in turn, a deny-all NetworkPolicy that holds
// from a pod's first packet, an OOM kill, and a second start after stop.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { kubectl, startKubeCluster } from './cluster';
import type { KubeCluster } from './cluster';
import { leftovers } from './firewall';
import { hostDirs, mountsUnder, nftTables, readSysctls } from './hostCleanup';
import { run, sleep } from './processes';
import { freePort, startRegistry } from '../services';
import { bridgeName } from './network';

const image = 'hades-test/busybox:1';

function pod(name: string, script: string, extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image, command: ['sh', '-c', script], ...container }],
      ...extra,
    },
  });
}

async function waitPhase(c: KubeCluster, ns: string, name: string, phases: string[], timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const phase = await kubectl(c.kubeconfig, ['-n', ns, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}']);
    if (phases.includes(phase)) return phase;
    if (Date.now() > deadline) throw new Error(`pod ${ns}/${name} still ${phase}`);
    await sleep(250);
  }
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const result = await fn();
  console.log(`ok  ${what} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  return result;
}

async function checks(c: KubeCluster): Promise<void> {
  const ns = c.namespace ?? 'default';
  const k = (args: string[], input?: string): Promise<string> => kubectl(c.kubeconfig, ['-n', ns, ...args], input);

  await timed('a pod runs a script and its logs are readable', async () => {
    await k(['apply', '-f', '-'], pod('hello', 'echo hello from $(hostname); echo second line'));
    assert.equal(await waitPhase(c, ns, 'hello', ['Succeeded', 'Failed']), 'Succeeded');
    assert.match(await k(['logs', 'hello']), /hello from hello\nsecond line/);
  });

  await timed('a local-path volume binds and two pods in turn share its data', async () => {
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'shared' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local-path', resources: { requests: { storage: '16Mi' } } } };
    await k(['apply', '-f', '-'], JSON.stringify(claim));
    const volume = { volumes: [{ name: 'shared', persistentVolumeClaim: { claimName: 'shared' } }] };
    const mount = { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] };
    await k(['apply', '-f', '-'], pod('writer', 'echo written-by-writer > /shared/note', volume, mount));
    assert.equal(await waitPhase(c, ns, 'writer', ['Succeeded', 'Failed']), 'Succeeded');
    assert.equal(await k(['get', 'pvc', 'shared', '-o', 'jsonpath={.status.phase}']), 'Bound');
    await k(['apply', '-f', '-'], pod('reader', 'cat /shared/note', volume, mount));
    assert.equal(await waitPhase(c, ns, 'reader', ['Succeeded', 'Failed']), 'Succeeded');
    assert.equal((await k(['logs', 'reader'])).trim(), 'written-by-writer');
  });

  await timed('a deny-all NetworkPolicy blocks a pod from its first packet; no policy allows', async () => {
    await k(['apply', '-f', '-'], pod('server', 'nc -ll -p 8080 -e echo served'));
    await waitPhase(c, ns, 'server', ['Running']);
    const ip = await k(['get', 'pod', 'server', '-o', 'jsonpath={.status.podIP}']);
    // Both clients connect at once on start, before kube-router could have programmed them.
    // (busybox-static's wget crashes in these images; nc does the job.)
    const fetch = `nc -w 8 ${ip} 8080 </dev/null | grep served`;
    await k(['apply', '-f', '-'], pod('allowed', fetch));
    await kubectl(c.kubeconfig, ['create', 'namespace', 'smoke-locked']);
    const denyAll = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: 'smoke-locked' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } };
    await kubectl(c.kubeconfig, ['apply', '-f', '-'], JSON.stringify(denyAll));
    await kubectl(c.kubeconfig, ['-n', 'smoke-locked', 'apply', '-f', '-'], pod('denied', fetch));
    assert.equal(await waitPhase(c, ns, 'allowed', ['Succeeded', 'Failed']), 'Succeeded');
    assert.equal((await k(['logs', 'allowed'])).trim(), 'served');
    assert.equal(await waitPhase(c, 'smoke-locked', 'denied', ['Succeeded', 'Failed']), 'Failed');
  });

  await timed('a memory limit OOM-kills a memory hog (reason OOMKilled)', async () => {
    const limits = { resources: { limits: { memory: '32Mi' } } };
    await k(['apply', '-f', '-'], pod('hog', 'dd if=/dev/zero of=/dev/null bs=128M count=1', {}, limits));
    await waitPhase(c, ns, 'hog', ['Succeeded', 'Failed']);
    const reason = await k(['get', 'pod', 'hog', '-o', 'jsonpath={.status.containerStatuses[0].state.terminated.reason}']);
    assert.equal(reason, 'OOMKilled');
  });
}

async function pullFromRegistry(c: KubeCluster, registry: string): Promise<void> {
  await timed(`a pod pulls its image from the plain-HTTP registry ${registry}`, async () => {
    const remote = `${registry}/smoke/busybox:pulled`;
    await run('docker', ['tag', image, remote]);
    try {
      await run('docker', ['push', remote], { timeoutMs: 120_000 });
      const spec = JSON.parse(pod('pulled', 'echo pulled')) as { spec: { containers: Record<string, unknown>[] } };
      Object.assign(spec.spec.containers[0]!, { image: remote, imagePullPolicy: 'Always' });
      await kubectl(c.kubeconfig, ['apply', '-f', '-'], JSON.stringify(spec));
      assert.equal(await waitPhase(c, 'default', 'pulled', ['Succeeded', 'Failed']), 'Succeeded');
      const events = await kubectl(c.kubeconfig, ['get', 'events', '--field-selector', 'involvedObject.name=pulled', '-o', 'jsonpath={.items[*].reason}']);
      assert.match(events, /Pulled/);
    } finally {
      await run('docker', ['rmi', remote]);
    }
  });
}

async function assertClean(dir: string, baseline: Baseline): Promise<void> {
  const names = ['kube-apiserver', 'kube-controller', 'kube-scheduler', 'kubelet', 'kube-router', 'local-path-prov', 'etcd'];
  const procs = (await run('ps', ['-eo', 'pid,comm,args'])).split('\n').filter((l) => names.some((n) => l.includes(` ${n}`)) || l.includes(`${dir}/`));
  assert.deepEqual(procs, [], 'processes left');
  assert.deepEqual(mountsUnder(dir), [], 'mounts left');
  const links = await run('ip', ['-o', 'link', 'show']);
  assert.ok(!links.includes(bridgeName), 'bridge left');
  const veths = (await run('ip', ['-o', 'link', 'show', 'type', 'veth'])).split('\n').filter((l) => l && !l.includes('master docker0'));
  assert.deepEqual(veths, [], 'veths left');
  assert.deepEqual(await leftovers(), { chains: [], sets: [] }, 'iptables chains or ipsets left');
  assert.ok(!readdirSync('/sys/fs/cgroup/memory').includes('kubepods'), 'pod cgroups left');
  assert.deepEqual(readSysctls(), baseline.sysctls, 'sysctls not restored');
  assert.ok(!existsSync(join(dir, 'state')), 'state folder left');
  for (const path of [...baseline.absentDirs, '/usr/libexec/kubernetes', '/run/hades-kube']) assert.ok(!existsSync(path), `${path} left`);
  assert.deepEqual(await nftTables(), baseline.nftTables, 'nftables tables left');
  await run('docker', ['run', '--rm', image, 'true']);
  // Docker's networking: one container fetches from another over docker0.
  const server = (await run('docker', ['run', '-d', '--rm', image, 'nc', '-ll', '-p', '8080', '-e', 'echo', 'docker-ok'])).trim();
  try {
    const ip = (await run('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', server])).trim();
    const got = await run('docker', ['run', '--rm', image, 'sh', '-c', `nc -w 5 ${ip} 8080 </dev/null`]);
    assert.equal(got.trim(), 'docker-ok');
  } finally {
    await run('docker', ['rm', '-f', server]);
  }
  console.log('ok  stop left no process, mount, veth, chain, ipset or cgroup; sysctls restored; Docker works');
}

interface Baseline {
  sysctls: Record<string, string>;
  absentDirs: string[];
  nftTables: string[];
}

async function smokeRound(round: number, dir: string, registry: string, baseline: Baseline): Promise<void> {
  const started = Date.now();
  const cluster = await startKubeCluster({ dir, logDir: join(dir, 'logs'), registry });
  console.log(`ok  cluster ${round} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${cluster.address})`);
  try {
    if (round === 1) {
      await checks(cluster);
      await pullFromRegistry(cluster, registry);
    } else {
      await timed('a pod runs after a restart', async () => {
        await kubectl(cluster.kubeconfig, ['apply', '-f', '-'], pod('again', 'echo again'));
        assert.equal(await waitPhase(cluster, 'default', 'again', ['Succeeded', 'Failed']), 'Succeeded');
      });
    }
  } finally {
    await timed(`cluster ${round} stopped`, () => cluster.stop());
  }
  await assertClean(dir, baseline);
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'hades-kube-'));
  const baseline = { sysctls: readSysctls(), absentDirs: hostDirs.filter((d) => !existsSync(d)), nftTables: await nftTables() };
  const registryDir = mkdtempSync(join(tmpdir(), 'hades-kube-registry-')); // outside dir: assertClean looks there
  const registry = await startRegistry({ port: await freePort(), dataDir: registryDir, logDir: registryDir });
  try {
    for (const round of [1, 2]) await smokeRound(round, dir, registry.address, baseline);
  } finally {
    await registry.stop();
    rmSync(registryDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
