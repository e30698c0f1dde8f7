// The cluster's own containerd (Debian's, not Docker's): its socket, root, state, runc root and
// pod network namespaces all live under the cluster's folder, so stopping it can find and remove
// everything it made. Images come from tarballs (there is no registry to pull from).
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaries, imageCacheDir, pauseImage } from './tools';
import type { Proc } from './processes';
import { launch, readyOrStopped, run, waitUntil } from './processes';

export interface ContainerdPaths {
  root: string;
  state: string;
  socket: string;
  runcRoot: string;
  hostsDir: string;
  config: string;
}

export function containerdPaths(stateDir: string): ContainerdPaths {
  const base = join(stateDir, 'containerd');
  return {
    root: join(base, 'root'),
    state: join(base, 'state'),
    socket: join(base, 'containerd.sock'),
    runcRoot: join(base, 'runc'),
    hostsDir: join(base, 'certs.d'),
    config: join(base, 'config.toml'),
  };
}

function configToml(paths: ContainerdPaths, cniConfDir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${paths.root}"
state = "${paths.state}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${paths.socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(paths.root, 'opt')}"

[${cri}]
  sandbox_image = "${pauseImage.name}"
  # This VM withholds CAP_SYS_RESOURCE: without this every sandbox fails with
  # "can't get final child's PID from pipe" (runc may not lower oom_score_adj below its own).
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "${paths.runcRoot}"

[${cri}.cni]
  bin_dir = "${binaries.cniDir}"
  conf_dir = "${cniConfDir}"

[${cri}.registry]
  config_path = "${paths.hostsDir}"
`;
}

export async function startContainerd(paths: ContainerdPaths, cniConfDir: string, logDir: string): Promise<Proc> {
  for (const dir of [paths.root, paths.state, paths.runcRoot, paths.hostsDir]) mkdirSync(dir, { recursive: true });
  writeFileSync(paths.config, configToml(paths, cniConfDir));
  const proc = launch('containerd', binaries.containerd, ['--config', paths.config], join(logDir, 'containerd.log'));
  const answers = (): Promise<boolean> => ctr(paths, ['version']).then(() => true);
  return readyOrStopped(proc, waitUntil('containerd answering on its socket', answers, [proc], 30_000));
}

export function ctr(paths: ContainerdPaths, args: string[]): Promise<string> {
  return run(binaries.ctr, ['--address', paths.socket, '--namespace', 'k8s.io', ...args], { timeoutMs: 300_000 });
}

/** Lets containerd pull `host/...` images over plain HTTP (a registry on 127.0.0.1 has no TLS). */
export function allowPlainHttpRegistry(paths: ContainerdPaths, host: string): void {
  const dir = join(paths.hostsDir, host);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'hosts.toml'),
    `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true\n`,
  );
}

async function dockerImageId(image: string): Promise<string> {
  try {
    return (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).trim();
  } catch (err) {
    throw new Error(`image ${image} is not in Docker (run bash scripts/build-images.sh): ${String(err)}`);
  }
}

/** Fails fast, before anything starts, when an image to import is missing. */
export async function checkDockerImages(images: string[]): Promise<void> {
  await Promise.all(images.map(dockerImageId));
}

/** `docker save` of an image, cached by image id so a rebuilt image is exported again. */
async function dockerImageTar(image: string): Promise<string> {
  const id = await dockerImageId(image);
  const tar = join(imageCacheDir, `${image.replace(/[^A-Za-z0-9._-]/g, '_')}-${id.replace(/^sha256:/, '').slice(0, 16)}.tar`);
  if (!existsSync(tar)) {
    mkdirSync(imageCacheDir, { recursive: true });
    await run('docker', ['save', '-o', `${tar}.tmp`, image], { timeoutMs: 300_000 });
    renameSync(`${tar}.tmp`, tar);
  }
  return tar;
}

/** The name containerd gives `image` (Docker's short names live on docker.io). */
function fullName(image: string): string {
  const first = image.split('/')[0] ?? '';
  const hasHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost) return image;
  return `docker.io/${image.includes('/') ? '' : 'library/'}${image}`;
}

/** Imports the pause image and the given Docker images into the cluster's containerd. */
export async function importImages(paths: ContainerdPaths, images: string[]): Promise<void> {
  const tars = [pauseImage.tar, ...(await Promise.all(images.map(dockerImageTar)))];
  for (const tar of tars) await ctr(paths, ['images', 'import', tar]);
  // A tarball whose names ctr does not read would leave pods pulling from nowhere: say so here.
  const names = (await ctr(paths, ['images', 'list', '--quiet'])).split('\n');
  const missing = [pauseImage.name, ...images.map(fullName)].filter((name) => !names.includes(name));
  if (missing.length > 0) throw new Error(`images missing in the cluster's containerd after import: ${missing.join(', ')}`);
}
