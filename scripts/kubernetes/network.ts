// Addresses of the cluster and its pod network: a Linux bridge of its own (not Docker's), set up
// by Debian's CNI plugins. The firewall plugin matters here: Docker's FORWARD policy is DROP, and
// without the plugin's ACCEPT rules no packet passes between pods.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';

export const podCidr = '10.244.0.0/24';
export const podGateway = '10.244.0.1';
export const serviceCidr = '10.96.0.0/24';
export const serviceIp = '10.96.0.1';
export const bridgeName = 'hades-kube0';
export const cniNetworkName = 'hades-kube';
export const nodeName = 'hades-kube-node';

/** The machine's own address on its default route: the API server must advertise a non-loopback one. */
export function hostAddress(): string {
  const routes = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1);
  const fields = routes.map((line) => line.trim().split(/\s+/)).find((f) => f[1] === '00000000' && f[7] === '00000000');
  const iface = fields?.[0];
  if (!iface) throw new Error('no default route: cannot pick the address the API server advertises');
  const address = networkInterfaces()[iface]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error(`interface ${iface} (default route) has no IPv4 address`);
  return address;
}

export interface CniPaths {
  confDir: string;
  ipamDir: string;
}

export function cniPaths(stateDir: string): CniPaths {
  return { confDir: join(stateDir, 'cni', 'net.d'), ipamDir: join(stateDir, 'cni', 'ipam') };
}

/** Host-local IPAM keeps one file per allocated address, named by it, under this folder. */
export function ipamNetworkDir(paths: CniPaths): string {
  return join(paths.ipamDir, cniNetworkName);
}

export function writeCniConfig(paths: CniPaths): void {
  mkdirSync(paths.confDir, { recursive: true });
  mkdirSync(paths.ipamDir, { recursive: true });
  const conflist = {
    cniVersion: '1.0.0',
    name: cniNetworkName,
    plugins: [
      {
        type: 'bridge',
        bridge: bridgeName,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: paths.ipamDir,
          ranges: [[{ subnet: podCidr, gateway: podGateway }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall', backend: 'iptables' },
    ],
  };
  writeFileSync(join(paths.confDir, '10-hades-kube.conflist'), JSON.stringify(conflist, null, 2));
}
