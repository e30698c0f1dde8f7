// What a bare control plane lacks for Hades's tests: the executor's namespace, a default
// StorageClass served by local-path-provisioner, and NetworkPolicy enforcement by kube-router.
// Both add-ons run as host processes with the admin kubeconfig, outside the cluster.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Proc } from './processes';
import { launch } from './processes';
import { kubectl } from './kubectl';
import { binaries, helperImage } from './tools';
import { nodeName, serviceCidr } from './network';

export const executorNamespace = 'hades-executor';
const localPathNamespace = 'local-path-storage';
const localPathServiceAccount = 'local-path-provisioner-service-account';
export const storageClassName = 'local-path';

function indent(text: string, spaces: number): string {
  return text
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}

function manifests(volumeDir: string): string {
  const config = JSON.stringify({ nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [volumeDir] }] });
  const helperPod = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: helper-pod',
    'spec:',
    '  priorityClassName: system-node-critical',
    '  terminationGracePeriodSeconds: 1',
    '  containers:',
    '  - name: helper-pod',
    `    image: ${helperImage}`,
    '    imagePullPolicy: IfNotPresent',
  ].join('\n');
  // The default service accounts are made here too: the controller manager, still starting, would
  // take seconds longer, and no pod can be created in a namespace before its default one exists.
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${executorNamespace}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: default
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: ${executorNamespace}
---
apiVersion: v1
kind: Namespace
metadata:
  name: ${localPathNamespace}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${localPathServiceAccount}
  namespace: ${localPathNamespace}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-path-config
  namespace: ${localPathNamespace}
data:
  config.json: '${config}'
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
${indent(helperPod, 4)}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ${storageClassName}
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`;
}

export async function applyManifests(kubeconfig: string, volumeDir: string): Promise<void> {
  mkdirSync(volumeDir, { recursive: true });
  await kubectl(kubeconfig, ['apply', '-f', '-'], manifests(volumeDir));
}

export function startLocalPathProvisioner(kubeconfig: string, logDir: string): Proc {
  return launch(
    'local-path-provisioner',
    binaries.localPath,
    [
      'start',
      '--kubeconfig', kubeconfig,
      '--namespace', localPathNamespace,
      '--service-account-name', localPathServiceAccount,
      '--helper-image', helperImage,
      '--provisioner-name', 'rancher.io/local-path',
    ],
    join(logDir, 'local-path-provisioner.log'),
  );
}

/** kube-router's network policy controller only: no routing, no service proxy, no CNI. */
export function startKubeRouter(kubeconfig: string, healthPort: number, logDir: string): Proc {
  return launch(
    'kube-router',
    binaries.kubeRouter,
    [
      `--kubeconfig=${kubeconfig}`,
      `--hostname-override=${nodeName}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      '--enable-cni=false',
      '--enable-ipv4=true',
      '--enable-ipv6=false',
      `--service-cluster-ip-range=${serviceCidr}`,
      `--health-port=${healthPort}`,
      '--metrics-port=0',
      '--v=1',
    ],
    join(logDir, 'kube-router.log'),
  );
}
