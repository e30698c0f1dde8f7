import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nkeys } from 'nats';
import { ConfigError, parseConfig } from '../../src/config';
import { natsConnectionOptions } from '../../src/main/natsOptions';
import { temporalConnectionOptions } from '../../src/temporal/connect';

const dir = mkdtempSync(join(tmpdir(), 'hades-connect-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const files: Record<string, string> = {};
for (const name of ['ca.pem', 'cert.pem', 'key.pem']) {
  files[name] = join(dir, name);
  writeFileSync(files[name], `contents of ${name}`);
}
const fakeRead = (p: string) => Buffer.from(`read ${p}`);

describe('temporalConnectionOptions', () => {
  it('is plain by default', () => {
    assert.deepEqual(temporalConnectionOptions(parseConfig({})), { address: '127.0.0.1:7233' });
  });
  it('TEMPORAL_TLS=true: TLS with the system roots', () => {
    assert.deepEqual(temporalConnectionOptions(parseConfig({ TEMPORAL_TLS: 'true', TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233' })), { address: 'x.tmprl.cloud:7233', tls: {} });
  });
  it('CA, client certificate, server name and API key', () => {
    const config = parseConfig({
      TEMPORAL_TLS_CA: files['ca.pem'],
      TEMPORAL_TLS_CERT: files['cert.pem'],
      TEMPORAL_TLS_KEY: files['key.pem'],
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_API_KEY: 'secret',
    });
    assert.deepEqual(temporalConnectionOptions(config, fakeRead), {
      address: '127.0.0.1:7233',
      tls: {
        serverRootCACertificate: fakeRead(files['ca.pem']!),
        clientCertPair: { crt: fakeRead(files['cert.pem']!), key: fakeRead(files['key.pem']!) },
        serverNameOverride: 'temporal.internal',
      },
      apiKey: 'secret',
    });
  });
  it('an API key alone turns TLS on', () => {
    assert.deepEqual(temporalConnectionOptions(parseConfig({ TEMPORAL_API_KEY: 'k' })), { address: '127.0.0.1:7233', tls: {}, apiKey: 'k' });
  });
  it('reads the files by default', () => {
    const tls = temporalConnectionOptions(parseConfig({ TEMPORAL_TLS_CA: files['ca.pem'] })).tls;
    assert.equal(Buffer.from(tls!.serverRootCACertificate!).toString(), 'contents of ca.pem');
  });
});

describe('natsConnectionOptions', () => {
  it('splits NATS_URL into servers and keeps the extra options', () => {
    const options = natsConnectionOptions(parseConfig({ NATS_URL: 'nats://a:4222, nats://b:4222,' }), { name: 'hades-api' });
    assert.deepEqual(options, { noAsyncTraces: true, name: 'hades-api', servers: ['nats://a:4222', 'nats://b:4222'] });
  });
  it('makes no stack trace per request (the cost the intake profile showed)', () => {
    assert.equal(natsConnectionOptions(parseConfig({ NATS_URL: 'nats://a:4222' })).noAsyncTraces, true);
  });
  it('token, and user with password', () => {
    assert.equal(natsConnectionOptions(parseConfig({ NATS_TOKEN: 't0k' })).token, 't0k');
    const o = natsConnectionOptions(parseConfig({ NATS_USER: 'hades', NATS_PASSWORD: 'pw' }));
    assert.equal(o.user, 'hades');
    assert.equal(o.pass, 'pw');
  });
  it('credentials and NKey seed files become authenticators', () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    writeFileSync(join(dir, 'user.nk'), `${seed}\n`);
    const nkey = natsConnectionOptions(parseConfig({ NATS_NKEY: join(dir, 'user.nk') }));
    assert.equal(typeof nkey.authenticator, 'function');
    const creds = natsConnectionOptions(parseConfig({ NATS_CREDS: files['cert.pem'] }), {}, () => new TextEncoder().encode('creds'));
    assert.equal(typeof creds.authenticator, 'function');
  });
  it('TLS from a tls:// URL or the NATS_TLS_* files', () => {
    assert.deepEqual(natsConnectionOptions(parseConfig({ NATS_URL: 'tls://n:4222' })).tls, {});
    assert.equal(natsConnectionOptions(parseConfig({})).tls, undefined);
    const config = parseConfig({ NATS_TLS_CA: files['ca.pem'], NATS_TLS_CERT: files['cert.pem'], NATS_TLS_KEY: files['key.pem'] });
    assert.deepEqual(natsConnectionOptions(config).tls, { caFile: files['ca.pem'], certFile: files['cert.pem'], keyFile: files['key.pem'] });
  });
});

describe('connection settings validation', () => {
  function issues(env: Record<string, string>): string {
    try {
      parseConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail('parsed');
  }
  it('a certificate without its key (or the reverse) names both variables', () => {
    assert.match(issues({ TEMPORAL_TLS_CERT: files['cert.pem']! }), /TEMPORAL_TLS_KEY.*TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    assert.match(issues({ NATS_TLS_KEY: files['key.pem']! }), /NATS_TLS_CERT.*NATS_TLS_CERT and NATS_TLS_KEY go together/);
    assert.match(issues({ NATS_USER: 'u' }), /NATS_USER and NATS_PASSWORD go together/);
  });
  it('a file that does not exist names the variable', () => {
    const message = issues({ TEMPORAL_TLS_CA: '/no/such/ca.pem', NATS_CREDS: '/no/such.creds', NATS_TLS_CERT: '/nope', NATS_TLS_KEY: '/nope2' });
    for (const name of ['TEMPORAL_TLS_CA="/no/such/ca.pem"', 'NATS_CREDS="/no/such.creds"', 'NATS_TLS_CERT="/nope"', 'NATS_TLS_KEY="/nope2"']) {
      assert.ok(message.includes(`${name}: no such file`), `${name} in ${message}`);
    }
  });
  it('refuses two kinds of NATS authentication', () => {
    assert.match(issues({ NATS_TOKEN: 't', NATS_USER: 'u', NATS_PASSWORD: 'p' }), /set one of NATS_TOKEN, NATS_USER/);
  });
});
