import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { freePort } from '../../scripts/services';
import { runCommand } from '../helpers/command';
import { helloWorldJob } from '../fixtures/examples';
import { assertNoLeaks, docker } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { isolatedEnv, uniqueSuffix } from '../helpers/stack';

// The production build and image: `npm run build` (tsc + the workflow bundle), then the image
// as scripts/build-hades-image.sh builds it, run with every role against this test run's servers.

const root = join(__dirname, '..', '..');
const image = process.env.HADES_IMAGE ?? 'hades-temporal:local';
const socket = '/var/run/docker.sock';

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('npm run build', () => {
  it('emits dist/main.js and the workflow bundle, and the compiled entry point runs', { timeout: 5 * 60_000 }, async () => {
    await runCommand('npm', ['run', 'build']);
    assert.ok(existsSync(join(root, 'dist', 'main.js')), 'dist/main.js');
    assert.ok(statSync(join(root, 'dist', 'workflow-bundle.js')).size > 100_000, 'dist/workflow-bundle.js holds the bundled workflows');
    // A bad value stops the compiled entry point with the config's message (it loads and parses).
    const bad = await promisify(execFile)(process.execPath, [join(root, 'dist', 'main.js')], { cwd: root, env: { PATH: process.env.PATH, API_PORT: 'eighty' } }).then(
      () => assert.fail('dist/main.js accepted API_PORT=eighty'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr ?? '', /API_PORT="eighty"/);
  });
});

describe('the Hades image (scripts/build-hades-image.sh)', () => {
  const suffix = uniqueSuffix();
  const jobIds: string[] = [];
  let container: Docker.Container | undefined;
  let passed = false;

  before(
    async () => {
      const started = Date.now();
      const output = await runCommand('bash', ['scripts/build-hades-image.sh'], { ...process.env, HADES_IMAGE: image });
      const summary = output.split('\n').filter((l) => l.startsWith('[hades-image]'));
      console.log(`${summary.join('\n')}\n[hades-image] script took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    { timeout: 20 * 60_000 },
  );

  after(async () => {
    if (container) {
      if (!passed) {
        const logs = await container.logs({ stdout: true, stderr: true, tail: 50 }).catch(() => Buffer.from(''));
        console.error(`the image test's container logs:\n${logs.toString()}`);
      }
      await container.remove({ force: true }).catch(() => undefined);
    }
    await assertNoLeaks(jobIds);
  });

  it('runs every role as a non-root user, becomes healthy, runs a job and stops cleanly on SIGTERM', { timeout: 5 * 60_000 }, async () => {
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    // As startTestStack isolates a stack: its own task queue, stream, subjects, consumer, buckets.
    const env = {
      ...isolatedEnv(suffix),
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    container = await docker.createContainer({
      name: `hades-image-test-${suffix}`,
      Image: image,
      Cmd: ['all'],
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      HostConfig: {
        // The test servers listen on the host's loopback.
        NetworkMode: 'host',
        // The worker runs steps through the host's Docker; the socket's group lets user hades in.
        Binds: [`${socket}:${socket}`],
        GroupAdd: [String(statSync(socket).gid)],
      },
    });
    const c = container;
    await c.start();
    const running = async () => {
      const info = await c.inspect();
      if (!info.State.Running) {
        const logs = await c.logs({ stdout: true, stderr: true, tail: 30 });
        throw new Error(`the container exited (${info.State.ExitCode}):\n${logs.toString()}`);
      }
      return info;
    };

    await waitFor('GET /healthz', 60_000, async () => {
      await running();
      const res = await request<{ status: string }>(`${apiUrl}/healthz`).catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    });
    // The image's HEALTHCHECK as shipped (first check after its 10 s interval).
    await waitFor('Docker health status "healthy"', 90_000, async () => {
      const health = (await running()).State.Health;
      assert.notEqual(health?.Status, 'unhealthy', JSON.stringify(health?.Log));
      return health?.Status === 'healthy' ? health : undefined;
    });

    const id = await submitJob(apiUrl, helloWorldJob(), jobIds);
    const job = await waitForEnd(apiUrl, id, 60_000);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail?.trim(), 'Hello, Hades!');
    await assertNoLeaks(jobIds);

    // Hades (node, PID 1 through the entry script's exec) runs as user hades, not root.
    const info = await running();
    assert.equal(info.Config.User, 'hades:hades');
    const cmdline = await runCommand('docker', ['exec', c.id, 'cat', '/proc/1/cmdline']);
    assert.deepEqual(cmdline.split('\0').slice(0, 2), ['node', 'dist/main.js']);
    const status = await runCommand('docker', ['exec', c.id, 'cat', '/proc/1/status']);
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    assert.ok(uids && uids[1] !== '0' && uids[2] !== '0', `PID 1 runs as uid ${uids?.[1]}`);

    // docker stop sends SIGTERM; Hades stops its roles and exits 0 well before the 30 s kill.
    await c.stop({ t: 30 });
    const stopped = await c.inspect();
    assert.equal(stopped.State.ExitCode, 0, `exit code ${stopped.State.ExitCode}`);
    assert.equal(stopped.State.OOMKilled, false);
    const logs = (await c.logs({ stdout: true, stderr: true })).toString();
    assert.match(logs, /SIGTERM, stopping/);
    passed = true;
  });
});
