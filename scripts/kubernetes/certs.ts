// The cluster's PKI, made with openssl: one CA, a serving certificate for the API server, client
// certificates for each component and the admin, and the service-account signing key. EC P-256
// keys: generating them takes milliseconds, where RSA would cost seconds of a cold start.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes';

export interface Identity {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  ca: Identity;
  apiserver: Identity;
  apiserverKubeletClient: Identity;
  admin: Identity;
  controllerManager: Identity;
  scheduler: Identity;
  kubelet: Identity;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

interface CertSpec {
  file: string;
  cn: string;
  org?: string;
  usage: 'client' | 'server';
  sans?: string[];
}

function opensslConfig(subject: string[], extensions: string[]): string {
  return ['[req]', 'distinguished_name = dn', 'prompt = no', 'x509_extensions = ext', '[dn]', ...subject, '[ext]', ...extensions, ''].join('\n');
}

const newKey = ['-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-days', '3650'];

async function makeCa(dir: string): Promise<Identity> {
  const config = join(dir, 'ca.cnf');
  writeFileSync(
    config,
    opensslConfig(['CN = hades-kube-ca'], [
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier = hash',
    ]),
  );
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await run('openssl', ['req', '-x509', '-config', config, ...newKey, '-keyout', ca.key, '-out', ca.cert]);
  return ca;
}

async function makeCert(dir: string, ca: Identity, spec: CertSpec): Promise<Identity> {
  const config = join(dir, `${spec.file}.cnf`);
  const subject = [...(spec.org ? [`O = ${spec.org}`] : []), `CN = ${spec.cn}`];
  const extensions = [
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage = ${spec.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    'authorityKeyIdentifier = keyid',
    ...(spec.sans ? [`subjectAltName = ${spec.sans.join(',')}`] : []),
  ];
  writeFileSync(config, opensslConfig(subject, extensions));
  const id = { cert: join(dir, `${spec.file}.crt`), key: join(dir, `${spec.file}.key`) };
  await run('openssl', ['req', '-x509', '-config', config, ...newKey, '-keyout', id.key, '-out', id.cert, '-CA', ca.cert, '-CAkey', ca.key]);
  return id;
}

export async function makePki(dir: string, opts: { nodeName: string; hostIp: string; serviceIp: string }): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const ca = await makeCa(dir);
  const serviceAccountKey = join(dir, 'service-account.key');
  const serviceAccountPub = join(dir, 'service-account.pub');
  const serviceAccount = run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', serviceAccountKey]).then(() =>
    run('openssl', ['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]),
  );
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
  const [apiserver, apiserverKubeletClient, admin, controllerManager, scheduler, kubelet] = await Promise.all([
    makeCert(dir, ca, {
      file: 'apiserver',
      cn: 'kube-apiserver',
      usage: 'server',
      sans: [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1', `IP:${opts.hostIp}`, `IP:${opts.serviceIp}`],
    }),
    makeCert(dir, ca, { file: 'apiserver-kubelet-client', cn: 'kube-apiserver-kubelet-client', org: 'system:masters', usage: 'client' }),
    makeCert(dir, ca, { file: 'admin', cn: 'hades-admin', org: 'system:masters', usage: 'client' }),
    makeCert(dir, ca, { file: 'controller-manager', cn: 'system:kube-controller-manager', usage: 'client' }),
    makeCert(dir, ca, { file: 'scheduler', cn: 'system:kube-scheduler', usage: 'client' }),
    makeCert(dir, ca, { file: 'kubelet', cn: `system:node:${opts.nodeName}`, org: 'system:nodes', usage: 'client' }),
    serviceAccount,
  ]);
  return { dir, ca, apiserver, apiserverKubeletClient, admin, controllerManager, scheduler, kubelet, serviceAccountKey, serviceAccountPub };
}

/** A kubeconfig that names the certificate files (nothing embedded: they stay in one place). */
export function writeKubeconfig(file: string, server: string, ca: string, user: Identity): string {
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: hades',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${ca}`,
    'users:',
    '- name: hades',
    '  user:',
    `    client-certificate: ${user.cert}`,
    `    client-key: ${user.key}`,
    'contexts:',
    '- name: hades',
    '  context:',
    '    cluster: hades',
    '    user: hades',
    'current-context: hades',
    '',
  ].join('\n');
  writeFileSync(file, yaml, { mode: 0o600 });
  return file;
}
