import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { connect } from 'nats';
import { parseConfig } from '../../src/config';
import { natsConnectionOptions } from '../../src/main/natsOptions';
import { runHades } from '../../src/main/run';
import { temporalConnectionOptions } from '../../src/temporal/connect';
import { freePort, freePorts, startNats, startTemporal } from '../../scripts/services';
import { helloWorldJob } from '../fixtures/examples';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { isolatedEnv, startTestStack, uniqueSuffix } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A throwaway CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with openssl. */
function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=Hades test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  for (const [name, ext] of [
    ['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment'],
    ['client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment'],
  ] as const) {
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=hades-test-${name}`);
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '1', '-extfile', f(`${name}.ext`));
  }
  return { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

async function rejects(what: string, p: Promise<unknown>, ms = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    p.then(
      () => 'connected',
      () => 'refused',
    ),
    new Promise<string>((r) => (timer = setTimeout(() => r('timed out'), ms))),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 'refused', `${what} should be refused`);
}

describe('TLS to NATS and Temporal', () => {
  const base = join(testEnv.runDir, `tls-${uniqueSuffix()}`);
  const pki = (() => {
    let made: Pki | undefined;
    return () => (made ??= makePki(join(base, 'pki')));
  })();

  it('runs a job end to end over NATS with TLS and client-certificate verification; no client certificate, no connection', async () => {
    const { ca, serverCert, serverKey, clientCert, clientKey } = pki();
    const port = await freePort();
    const nats = await startNats({
      port,
      storeDir: join(base, 'nats-store'),
      logDir: join(base, 'nats-log'),
      extraArgs: ['--tls', '--tlsverify', '--tlscert', serverCert, '--tlskey', serverKey, '--tlscacert', ca],
    });
    try {
      const url = `tls://127.0.0.1:${port}`;
      const stack = await startTestStack({ NATS_URL: url, NATS_TLS_CA: ca, NATS_TLS_CERT: clientCert, NATS_TLS_KEY: clientKey });
      const jobIds: string[] = [];
      try {
        const id = await submitJob(stack.apiUrl, helloWorldJob(), jobIds);
        const job = await waitForEnd(stack.apiUrl, id);
        assert.equal(job.status, 'Succeeded', JSON.stringify(job));
        assert.equal(job.steps[0]?.outputTail?.trim(), 'Hello, Hades!');
      } finally {
        await stack.stop();
      }
      await assertNoLeaks(jobIds);

      // The same server: the CA alone (no client certificate), and plain text, are both refused.
      const noCert = natsConnectionOptions(parseConfig({ NATS_URL: url, NATS_TLS_CA: ca }), { reconnect: false, timeout: 5000 });
      await rejects('NATS without a client certificate', connect(noCert).then((nc) => nc.close()));
      const plain = natsConnectionOptions(parseConfig({ NATS_URL: `nats://127.0.0.1:${port}` }), { reconnect: false, timeout: 5000 });
      await rejects('NATS in plain text', connect(plain).then((nc) => nc.close()));
      // And the client certificate does get in.
      const nc = await connect(natsConnectionOptions(parseConfig({ NATS_URL: url, NATS_TLS_CA: ca, NATS_TLS_CERT: clientCert, NATS_TLS_KEY: clientKey }), { reconnect: false }));
      await nc.close();
    } finally {
      await nats.stop();
    }
  });

  // The dev server has no TLS flags: a TLS-terminating proxy (node:tls, client certificates
  // required) in front of a plain dev server stands for a TLS frontend. It proves the client side:
  // Connection and NativeConnection speak TLS with the CA, the server name and the client certificate.
  it('runs a job end to end with the client and the worker connecting to Temporal through mTLS; without the CA or the client certificate, no connection', async () => {
    const { ca, serverCert, serverKey, clientCert, clientKey } = pki();
    const [temporalPort, proxyPort] = await freePorts(2);
    const temporal = await startTemporal({ port: temporalPort, logDir: join(base, 'temporal-log') });
    const sockets = new Set<Socket>();
    let authorized = 0;
    const proxy = createTlsServer(
      { key: readFileSync(serverKey), cert: readFileSync(serverCert), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
      (tlsSocket: TLSSocket) => {
        if (tlsSocket.authorized) authorized++;
        const upstream = netConnect(temporalPort, '127.0.0.1');
        sockets.add(tlsSocket).add(upstream);
        tlsSocket.pipe(upstream).pipe(tlsSocket);
        const close = () => {
          tlsSocket.destroy();
          upstream.destroy();
        };
        tlsSocket.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      },
    );
    proxy.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
    try {
      const tlsEnv = {
        TEMPORAL_ADDRESS: `127.0.0.1:${proxyPort}`,
        TEMPORAL_TLS_CA: ca,
        TEMPORAL_TLS_CERT: clientCert,
        TEMPORAL_TLS_KEY: clientKey,
        TEMPORAL_TLS_SERVER_NAME: 'localhost',
      };
      // api + bridge (Connection) and worker (NativeConnection), all through the proxy.
      const config = parseConfig({
        ...isolatedEnv(uniqueSuffix()),
        ...tlsEnv,
        HADES_WORKFLOW_BUNDLE: testEnv.workflowBundle,
        API_PORT: '0',
        API_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      });
      const running = await runHades(config);
      const jobIds: string[] = [];
      try {
        const apiUrl = `http://127.0.0.1:${running.apiPort ?? 0}`;
        const id = await submitJob(apiUrl, helloWorldJob(), jobIds);
        const job = await waitForEnd(apiUrl, id);
        assert.equal(job.status, 'Succeeded', JSON.stringify(job));
        // Both kinds of connection came through the proxy with the client certificate.
        assert.ok(authorized >= 2, `${authorized} authorised TLS connections`);
      } finally {
        await running.stop();
      }
      await assertNoLeaks(jobIds);

      const opts = (env: Record<string, string>) => ({ ...temporalConnectionOptions(parseConfig(env)), connectTimeout: '5s' });
      // No CA: the throwaway CA is not among the system roots.
      await rejects('Temporal without the CA', Connection.connect(opts({ ...tlsEnv, TEMPORAL_TLS_CA: '' })).then((c) => c.close()));
      // No client certificate: the proxy requires one.
      await rejects(
        'Temporal without a client certificate',
        Connection.connect(opts({ ...tlsEnv, TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' })).then((c) => c.close()),
      );
      const ok = await Connection.connect(opts(tlsEnv));
      await ok.close();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
      await temporal.stop();
    }
  });
});
