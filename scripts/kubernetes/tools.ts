// Where scripts/setup-kubernetes.sh puts the binaries and images, and the Debian tools used.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const kubernetesVersion = 'v1.34.4';
const localPathVersion = 'v0.0.30';
const kubeRouterVersion = 'v2.1.0';

const projectRoot = resolve(__dirname, '..', '..');
export const toolsDir = join(projectRoot, '.tools');
const kubeBin = join(toolsDir, 'kubernetes', kubernetesVersion, 'bin');

/** The pod sandbox image, built by setup from scripts/kubernetes/pause.c (no registry needed). */
export const pauseImage = { name: 'docker.io/hades-test/pause:1', tar: join(toolsDir, 'kubernetes', 'pause-image.tar') };
/** Docker images the cluster's containerd gets at start (built by scripts/build-images.sh). */
export const defaultImages = ['hades-test/busybox:1', 'hades-test/debian:12'];
export const helperImage = 'hades-test/busybox:1';
/** Cache of `docker save` output, one tarball per image id. */
export const imageCacheDir = join(toolsDir, 'kubernetes', 'images');

export const binaries = {
  apiserver: join(kubeBin, 'kube-apiserver'),
  controllerManager: join(kubeBin, 'kube-controller-manager'),
  scheduler: join(kubeBin, 'kube-scheduler'),
  kubelet: join(kubeBin, 'kubelet'),
  kubectl: join(kubeBin, 'kubectl'),
  localPath: join(toolsDir, 'local-path-provisioner', localPathVersion, 'local-path-provisioner'),
  kubeRouter: join(toolsDir, 'kube-router', kubeRouterVersion, 'kube-router'),
  etcd: '/usr/bin/etcd',
  containerd: '/usr/bin/containerd',
  ctr: '/usr/bin/ctr',
  cniDir: '/usr/lib/cni',
};

/** Fails with the one command that fixes it when set-up has not been run. */
export function checkTools(): void {
  const missing = Object.values(binaries).filter((path) => !existsSync(path));
  if (!existsSync(pauseImage.tar)) missing.push(pauseImage.tar);
  if (missing.length > 0) {
    throw new Error(`Kubernetes tools missing (${missing.join(', ')}); run: bash scripts/setup.sh --kubernetes`);
  }
  if (process.getuid?.() !== 0) throw new Error('a local Kubernetes cluster needs root (kubelet, containerd, iptables)');
}
