import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, configSchema, parseConfig } from '../../src/config';

describe('parseConfig', () => {
  it('has a default for everything', () => {
    const config = parseConfig({});
    assert.equal(config.API_PORT, 8080);
    assert.equal(config.CONCURRENCY, 1);
    assert.equal(config.HADES_EXECUTOR, 'docker');
    assert.deepEqual(config.HADES_ROLES, ['api', 'bridge', 'worker']);
  });
  it('treats empty values as unset, like a .env line `AUTH_KEY=`', () => {
    assert.equal(parseConfig({ AUTH_KEY: '' }).AUTH_KEY, undefined);
  });
  it('stops with a message naming each bad variable', () => {
    assert.throws(
      () => parseConfig({ API_PORT: 'eighty', HADES_EXECUTOR: 'podman', DOCKER_MEMORY_LIMIT: 'lots', HADES_ROLES: 'api,chef' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const name of ['API_PORT="eighty"', 'HADES_EXECUTOR="podman"', 'DOCKER_MEMORY_LIMIT="lots"', 'HADES_ROLES="api,chef"']) {
          assert.ok(err.message.includes(name), `${name} in ${err.message}`);
        }
        return true;
      },
    );
  });
});

describe('.env.example', () => {
  it('lists every variable the config reads, with a value the config accepts', () => {
    const text = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
    const entries = Object.fromEntries(
      text
        .split('\n')
        .map((line) => /^#?\s*([A-Z][A-Z0-9_]+)=(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    );
    for (const name of Object.keys(configSchema.shape)) assert.ok(name in entries, `${name} missing from .env.example`);
    assert.doesNotThrow(() => parseConfig(entries));
  });
});

describe('Kubernetes settings', () => {
  it('default to the hades-executor namespace, the cluster default class and a small set of capabilities', () => {
    const config = parseConfig({ HADES_EXECUTOR: 'kubernetes' });
    assert.equal(config.K8S_NAMESPACE, 'hades-executor');
    assert.equal(config.K8S_STORAGE_CLASS, undefined);
    assert.equal(config.K8S_VOLUME_SIZE, 1024 ** 3);
    assert.deepEqual(config.K8S_CAPABILITIES, ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID']);
  });
  it('read `none` as no capabilities, and refuse names that cannot be', () => {
    assert.deepEqual(parseConfig({ K8S_CAPABILITIES: 'none' }).K8S_CAPABILITIES, []);
    assert.deepEqual(parseConfig({ K8S_CAPABILITIES: 'net_raw, chown' }).K8S_CAPABILITIES, ['NET_RAW', 'CHOWN']);
    assert.throws(() => parseConfig({ K8S_CAPABILITIES: 'CAP-X', K8S_NAMESPACE: 'Hades_Jobs' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /K8S_CAPABILITIES="CAP-X"/);
      assert.match(err.message, /K8S_NAMESPACE="Hades_Jobs"/);
      return true;
    });
  });
});

describe('the API beyond loopback', () => {
  it('listens on loopback by default', () => {
    assert.equal(parseConfig({}).API_HOST, '127.0.0.1');
  });

  it('refuses to listen beyond loopback without AUTH_KEY, naming both ways out', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      assert.throws(
        () => parseConfig({ API_HOST: host }),
        (err: unknown) => err instanceof ConfigError && /API_HOST/.test(err.message) && /AUTH_KEY/.test(err.message) && /API_ALLOW_UNAUTHENTICATED/.test(err.message),
        host,
      );
    }
  });

  it('listens beyond loopback with AUTH_KEY, or when the operator says so explicitly', () => {
    assert.equal(parseConfig({ API_HOST: '0.0.0.0', AUTH_KEY: 'k' }).API_HOST, '0.0.0.0');
    assert.equal(parseConfig({ API_HOST: '0.0.0.0', API_ALLOW_UNAUTHENTICATED: 'true' }).API_HOST, '0.0.0.0');
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) assert.equal(parseConfig({ API_HOST: host }).API_HOST, host);
  });
});
