// The kubelet: cgroupfs on this machine's cgroup v1, the cluster's own containerd, every folder it
// writes under the cluster's state folder, no cluster DNS.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki } from './certs';
import type { Proc } from './processes';
import { launch } from './processes';
import { binaries } from './tools';
import { nodeName } from './network';

export interface KubeletOptions {
  pki: Pki;
  kubeconfig: string;
  stateDir: string;
  logDir: string;
  containerdSocket: string;
  hostIp: string;
  port: number;
  healthzPort: number;
}

export function kubeletPaths(stateDir: string): { rootDir: string; podLogsDir: string; config: string } {
  return {
    rootDir: join(stateDir, 'kubelet'),
    podLogsDir: join(stateDir, 'pod-logs'),
    config: join(stateDir, 'kubelet.yaml'),
  };
}

function kubeletConfig(opts: KubeletOptions, podLogsDir: string, rootDir: string): string {
  const endpoint = `unix://${opts.containerdSocket}`;
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${opts.hostIp}
port: ${opts.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${opts.healthzPort}
containerRuntimeEndpoint: ${endpoint}
imageServiceEndpoint: ${endpoint}
cgroupDriver: cgroupfs
# This machine runs cgroup v1; kubelet 1.35 and later refuse it unless told.
failCgroupV1: false
failSwapOn: false
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${opts.pki.ca.cert}
authorization:
  mode: Webhook
podLogsDir: ${podLogsDir}
volumePluginDir: ${join(rootDir, 'volume-plugins')}
resolvConf: /etc/resolv.conf
serializeImagePulls: false
# A test machine's disk may be fuller than a node's defaults allow: evict only when nearly full,
# and never garbage-collect the imported images (there is no registry to pull them again from).
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 250
podPidsLimit: -1
`;
}

export function startKubelet(opts: KubeletOptions): Proc {
  const paths = kubeletPaths(opts.stateDir);
  mkdirSync(paths.rootDir, { recursive: true });
  mkdirSync(paths.podLogsDir, { recursive: true });
  writeFileSync(paths.config, kubeletConfig(opts, paths.podLogsDir, paths.rootDir));
  return launch(
    'kubelet',
    binaries.kubelet,
    [
      `--config=${paths.config}`,
      `--kubeconfig=${opts.kubeconfig}`,
      `--root-dir=${paths.rootDir}`,
      `--cert-dir=${join(paths.rootDir, 'pki')}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${opts.hostIp}`,
      '--v=1',
    ],
    join(opts.logDir, 'kubelet.log'),
  );
}
