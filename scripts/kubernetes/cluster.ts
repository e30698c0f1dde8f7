// A real one-node Kubernetes cluster on this machine, for tests and development: etcd, the control
// plane, a kubelet on a private containerd, a CNI bridge, local-path volumes and NetworkPolicy
// enforcement, all on loopback or free ports. scripts/setup.sh --kubernetes builds what it runs.
//   const cluster = await startKubeCluster({ dir, logDir });  ...  await cluster.stop();
//   npx tsx scripts/kubernetes/cluster.ts up <dir> [127.0.0.1:5001]   (prints the kubeconfig; Ctrl-C stops)
//   npx tsx scripts/kubernetes/cluster.ts clean         (cleans up after a cluster whose owner died)
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exitOnSignals, freePorts } from '../services';
import { apiClient } from './api';
import type { ApiClient } from './api';
import { applyManifests, executorNamespace, startKubeRouter, startLocalPathProvisioner } from './addons';
import { makePki, writeKubeconfig } from './certs';
import { allowPlainHttpRegistry, checkDockerImages, containerdPaths, importImages, startContainerd } from './containerd';
import { startApiserver, startControllerManager, startEtcd, startScheduler } from './controlPlane';
import type { Gate } from './policyGate';
import { installGate, runGate } from './policyGate';
import type { HostRecord } from './hostRecord';
import { claimHost, cleanHost, killSync, readRecord, writeRecord } from './hostRecord';
import { hostDirs, nftTables, readSysctls } from './hostCleanup';
import { kubeletPaths, startKubelet } from './kubelet';
import { cniPaths, hostAddress, ipamNetworkDir, nodeName, serviceIp, writeCniConfig } from './network';
import type { Proc } from './processes';
import { assertRunning, run, stepLog, waitUntil } from './processes';
import { checkTools, defaultImages } from './tools';

export { kubectl } from './kubectl';
export { executorNamespace, storageClassName } from './addons';

export interface KubeCluster {
  name: string;
  /** The API server's URL (https://127.0.0.1:port). */
  address: string;
  /** Path of the admin kubeconfig (system:masters). */
  kubeconfig: string;
  /** The namespace made for Hades's executor. */
  namespace?: string;
  /** The API server's process group; stop() ends every process, and a sudden exit kills them all. */
  pid?: number;
  /** Lets containerd pull `host/...` over plain HTTP (e.g. a registry on 127.0.0.1:5001). */
  allowRegistry(host: string): void;
  stop(): Promise<void>;
}

export interface KubeClusterOptions {
  /** Folder for certificates, kubeconfigs and state; stop() removes its state/ and keeps the rest. */
  dir: string;
  logDir: string;
  /** A registry such as 127.0.0.1:5001 that containerd should pull from over plain HTTP. */
  registry?: string;
  /** Docker images to import into the cluster (default: the Hades test images). */
  images?: string[];
}

interface Node {
  spec?: { taints?: { effect?: string }[] };
  status?: { conditions?: { type?: string; status?: string }[] };
}

/** Ready, and without the not-ready taint the kubelet registers it with (the controller manager lifts it). */
async function nodeSchedulable(api: ApiClient): Promise<boolean> {
  const { status, body } = await api.get<Node>(`/api/v1/nodes/${nodeName}`);
  const ready = (body.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const tainted = (body.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  return status === 200 && ready && !tainted;
}

async function exists(api: ApiClient, path: string): Promise<boolean> {
  return (await api.get(path)).status === 200;
}

async function kubeRouterSynced(): Promise<boolean> {
  // Its first full sync ends with the explicit ACCEPT rule at the end of its FORWARD chain.
  return (await run('iptables', ['-S', 'KUBE-ROUTER-FORWARD'])).includes('comply to network policies');
}

/** The cluster this process runs, if any: there can be one per machine. */
let running: string | undefined;

export async function startKubeCluster(opts: KubeClusterOptions): Promise<KubeCluster> {
  checkTools();
  if (running) throw new Error(`this process already runs a Kubernetes cluster (folder ${running}): stop it first`);
  running = resolve(opts.dir);
  try {
    return await startCluster(opts);
  } catch (err) {
    running = undefined;
    throw err;
  }
}

async function startCluster(opts: KubeClusterOptions): Promise<KubeCluster> {
  const dir = resolve(opts.dir);
  const logDir = resolve(opts.logDir);
  const stateDir = join(dir, 'state');
  for (const d of [dir, logDir, stateDir]) mkdirSync(d, { recursive: true });
  const step = stepLog(join(logDir, 'cluster.log'));
  const imageNames = opts.images ?? defaultImages;
  await step('check images', () => checkDockerImages(imageNames));
  await step('claim the host', () => claimHost());

  const hostIp = hostAddress();
  const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedulerPort, kubeletPort, kubeletHealthzPort, kubeRouterHealthPort] =
    await freePorts(8);
  const server = `https://127.0.0.1:${apiPort}`;
  const pki = await step('make certificates', () => makePki(join(dir, 'pki'), { nodeName, hostIp, serviceIp }));
  const kubeconfig = (name: string, user: { cert: string; key: string }): string =>
    writeKubeconfig(join(dir, `${name}.kubeconfig`), server, pki.ca.cert, user);
  const adminKubeconfig = kubeconfig('admin', pki.admin);
  const api = apiClient(server, pki.ca.cert, pki.admin);
  const ctrd = containerdPaths(stateDir);
  const cni = cniPaths(stateDir);

  const procs: Proc[] = [];
  const record: HostRecord = {
    ownerPid: process.pid,
    dir,
    stateDir,
    podLogsDir: kubeletPaths(stateDir).podLogsDir,
    containerdSocket: ctrd.socket,
    sysctls: readSysctls(),
    pgids: [],
    createdDirs: hostDirs.filter((d) => !existsSync(d)),
    nftTables: await nftTables(),
  };
  writeRecord(record);
  const track = (proc: Proc): Proc => {
    procs.push(proc);
    if (proc.child.pid !== undefined) record.pgids.push(proc.child.pid);
    writeRecord(record);
    return proc;
  };
  const onExit = (): void => killSync(record);
  process.on('exit', onExit);
  exitOnSignals();
  let gate: Gate | undefined;
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      gate?.stop();
      const byName = (...names: string[]): Proc[] => procs.filter((p) => names.includes(p.name));
      const stopAll = (...names: string[]) => Promise.all(byName(...names).map((p) => p.stop()));
      await step('stop add-ons and controllers', () => stopAll('local-path-provisioner', 'kube-router', 'kube-scheduler', 'kube-controller-manager'));
      await step('stop kubelet', () => stopAll('kubelet'));
      await step('stop containerd and kube-apiserver', () => stopAll('containerd', 'kube-apiserver'));
      await step('stop etcd', () => stopAll('etcd'));
      const problems = await step('clean the host', () => cleanHost(record, step));
      process.off('exit', onExit);
      running = undefined;
      if (problems.length > 0) throw new Error(`Kubernetes cluster stopped, but ${problems.join('; ')}`);
    })());

  try {
    writeCniConfig(cni);
    if (opts.registry) allowPlainHttpRegistry(ctrd, opts.registry);
    await installGate();
    // Both at once; each is tracked even when the other fails, so stop() ends it.
    const [etcd, containerdStart] = await step('start etcd and containerd', () =>
      Promise.allSettled([
        startEtcd(join(stateDir, 'etcd'), logDir, etcdPort, etcdPeerPort).then(track),
        startContainerd(ctrd, cni.confDir, logDir).then(track),
      ]),
    );
    if (etcd.status === 'rejected') throw etcd.reason;
    if (containerdStart.status === 'rejected') throw containerdStart.reason;
    const containerd = containerdStart.value;
    // Imported while the control plane starts; no pod can be made before start-up ends.
    const images = step('import images', () => importImages(ctrd, imageNames));
    images.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    const apiserver = track(await step('start kube-apiserver', () => startApiserver({ pki, etcdPort, port: apiPort, hostIp, logDir }, api)));
    const controllerManager = track(startControllerManager(pki, kubeconfig('controller-manager', pki.controllerManager), kcmPort, stateDir, logDir));
    const scheduler = track(startScheduler(kubeconfig('scheduler', pki.scheduler), schedulerPort, logDir));
    const kubelet = track(
      startKubelet({
        pki,
        kubeconfig: kubeconfig('kubelet', pki.kubelet),
        stateDir,
        logDir,
        containerdSocket: ctrd.socket,
        hostIp,
        port: kubeletPort,
        healthzPort: kubeletHealthzPort,
      }),
    );
    await step('apply manifests', () => applyManifests(adminKubeconfig, join(stateDir, 'local-path')));
    const localPath = track(startLocalPathProvisioner(adminKubeconfig, logDir));
    const core = [apiserver, controllerManager, scheduler, kubelet, containerd];
    // kube-router reads the node object when it starts.
    await step('node registered', () => waitUntil('the node registering', () => exists(api, `/api/v1/nodes/${nodeName}`), core, 60_000));
    const kubeRouter = track(startKubeRouter(adminKubeconfig, kubeRouterHealthPort, logDir));
    gate = runGate(ipamNetworkDir(cni), api, nodeName);
    const all = [...core, localPath, kubeRouter];
    await step('node Ready', () => waitUntil('the node becoming Ready and schedulable', () => nodeSchedulable(api), all, 120_000, 200));
    // A pod mounts its service account token with the namespace's kube-root-ca.crt, which the
    // controller manager publishes: until then the pod waits in ContainerCreating.
    for (const ns of ['default', executorNamespace]) {
      const paths = [`/api/v1/namespaces/${ns}/serviceaccounts/default`, `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`];
      const ready = async (): Promise<boolean> => (await Promise.all(paths.map((p) => exists(api, p)))).every(Boolean);
      await step(`${ns} namespace ready`, () => waitUntil(`service account and kube-root-ca.crt in ${ns}`, ready, all, 60_000));
    }
    await step('kube-router synced', () => waitUntil('kube-router programming its chains', kubeRouterSynced, all, 60_000, 200));
    await images;
    for (const proc of all) assertRunning(proc);
    return {
      name: 'kubernetes',
      address: server,
      kubeconfig: adminKubeconfig,
      namespace: executorNamespace,
      ...(apiserver.child.pid !== undefined && { pid: apiserver.child.pid }),
      allowRegistry: (host: string) => allowPlainHttpRegistry(ctrd, host),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

async function cli(argv: string[]): Promise<void> {
  const [command, dirArg, registry] = argv;
  if (command === 'clean') {
    const record = readRecord();
    if (!record) return console.log('no cluster recorded');
    const problems = await cleanHost(record);
    console.log(problems.length ? problems.join('\n') : `cleaned up after the cluster in ${record.dir}`);
    return;
  }
  if (command !== 'up' || !dirArg) {
    console.error('usage: cluster.ts up <dir> [registry host:port] | cluster.ts clean');
    process.exitCode = 2;
    return;
  }
  const dir = resolve(dirArg);
  const started = Date.now();
  const cluster = await startKubeCluster({ dir, logDir: join(dir, 'logs'), ...(registry && { registry }) });
  console.log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${join(dir, 'logs')}`);
  console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
  console.log('Ctrl-C stops it');
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  console.log('stopping');
  await cluster.stop();
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
