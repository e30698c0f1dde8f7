// etcd, kube-apiserver, kube-controller-manager and kube-scheduler, all on 127.0.0.1 ports.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki } from './certs';
import type { Proc } from './processes';
import { launch, portOpen, readyOrStopped, waitUntil } from './processes';
import type { ApiClient } from './api';
import { binaries } from './tools';
import { podCidr, serviceCidr } from './network';

export async function startEtcd(dataDir: string, logDir: string, clientPort: number, peerPort: number): Promise<Proc> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = launch(
    'etcd',
    binaries.etcd,
    [
      '--name', 'hades',
      '--data-dir', dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `hades=${peer}`,
      '--logger', 'zap',
      '--log-level', 'warn',
      '--quota-backend-bytes', String(2 * 1024 ** 3),
    ],
    join(logDir, 'etcd.log'),
  );
  return readyOrStopped(proc, waitUntil(`etcd listening on ${clientPort}`, () => portOpen(clientPort), [proc], 30_000));
}

export interface ApiserverOptions {
  pki: Pki;
  etcdPort: number;
  port: number;
  hostIp: string;
  logDir: string;
}

export async function startApiserver(opts: ApiserverOptions, api: ApiClient): Promise<Proc> {
  const { pki } = opts;
  const proc = launch(
    'kube-apiserver',
    binaries.apiserver,
    [
      `--etcd-servers=http://127.0.0.1:${opts.etcdPort}`,
      '--bind-address=127.0.0.1',
      `--advertise-address=${opts.hostIp}`,
      `--secure-port=${opts.port}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      // Published for the controller manager and scheduler, whose authentication otherwise retries
      // (and logs) without end; nothing here proxies requests.
      `--requestheader-client-ca-file=${pki.ca.cert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
      `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      '--profiling=false',
      // One node, a handful of clients: priority and fairness only cost start-up time and memory.
      '--enable-priority-and-fairness=false',
      '--endpoint-reconciler-type=none',
      '--v=1',
    ],
    join(opts.logDir, 'kube-apiserver.log'),
  );
  const ready = async (): Promise<boolean> => (await api.get('/readyz')).status === 200;
  return readyOrStopped(proc, waitUntil(`kube-apiserver ready on ${opts.port}`, ready, [proc], 120_000, 200));
}

const unusedControllers = [
  'cloud-node-lifecycle-controller',
  'device-taint-eviction-controller',
  'disruption-controller',
  'horizontal-pod-autoscaler-controller',
  'kube-apiserver-serving-clustertrustbundle-publisher-controller',
  'legacy-serviceaccount-token-cleaner-controller',
  'node-route-controller',
  'podcertificaterequest-cleaner-controller',
  'resourceclaim-controller',
  'resourcequota-controller',
  'service-cidr-controller',
  'service-lb-controller',
  'storage-version-migrator-controller',
  'storageversion-garbage-collector-controller',
  'validatingadmissionpolicy-status-controller',
  'volumeattributesclass-protection-controller',
];

export function startControllerManager(pki: Pki, kubeconfig: string, port: number, stateDir: string, logDir: string): Proc {
  return launch(
    'kube-controller-manager',
    binaries.controllerManager,
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.ca.cert}`,
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      '--use-service-account-credentials=true',
      '--leader-elect=false',
      // Every default controller but those a one-node test cluster has no use for: fewer to start.
      `--controllers=*,${unusedControllers.map((c) => `-${c}`).join(',')}`,
      // The one node gets the whole pod range, the one the CNI configuration names.
      '--allocate-node-cidrs=true',
      `--cluster-cidr=${podCidr}`,
      '--node-cidr-mask-size=24',
      `--service-cluster-ip-range=${serviceCidr}`,
      // Its default is a folder under /usr/libexec, which it would create.
      `--flex-volume-plugin-dir=${join(stateDir, 'flexvolume')}`,
      '--profiling=false',
      '--v=1',
    ],
    join(logDir, 'kube-controller-manager.log'),
  );
}

export function startScheduler(kubeconfig: string, port: number, logDir: string): Proc {
  return launch(
    'kube-scheduler',
    binaries.scheduler,
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
    join(logDir, 'kube-scheduler.log'),
  );
}
