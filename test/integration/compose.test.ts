import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePorts } from '../../scripts/services';
import { helloWorldJob, sharedVolumeJob } from '../fixtures/examples';
import { runCommand } from '../helpers/command';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { uniqueSuffix } from '../helpers/stack';

// The deployment files as a site uses them: `cp .env.example .env`, `docker compose up -d`
// (Docker Compose v2, scripts/setup-compose.sh), the README's two examples, `docker compose down`.
// No registry is reachable here, so .env points the image variables at local stand-ins
// (scripts/build-compose-images.sh: the same Temporal, Temporal UI and NATS programs on a busybox
// base) and at the Hades image scripts/build-hades-image.sh builds. Everything else is .env.example.

const root = join(__dirname, '..', '..');
const composeFile = join(root, 'docker-compose.yml');
const k8sFile = join(root, 'docker-compose.k8s.yml');
const hadesImage = process.env.HADES_IMAGE ?? 'hades-temporal:local';
const services = ['api', 'bridge', 'nats', 'temporal', 'temporal-ui', 'worker'];

/** Runs a command in the project: its stdout alone (compose prints progress on stderr). */
async function stdoutOf(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { stdout } = await promisify(execFile)(command, args, { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** A project directory holding .env: .env.example with `changes` applied, as a site edits it. */
function projectDir(changes: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hades-compose-'));
  let text = readFileSync(join(root, '.env.example'), 'utf8');
  for (const [key, value] of Object.entries(changes)) {
    const line = new RegExp(`^${key}=.*$`, 'm');
    text = line.test(text) ? text.replace(line, `${key}=${value}`) : `${text}${key}=${value}\n`;
  }
  writeFileSync(join(dir, '.env'), text);
  return dir;
}

/** `docker compose` on the top-level files with `dir` as the project directory (its .env). */
function compose(dir: string, project: string, args: string[], files = [composeFile]): Promise<string> {
  // Only .env configures the stack: no variable of this process leaks into its interpolation.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  return stdoutOf('docker', ['compose', '--project-directory', dir, ...files.flatMap((f) => ['-f', f]), '-p', project, ...args], env);
}

interface ComposeService {
  image: string;
  command?: string[];
  user?: string;
  restart?: string;
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  ports?: { host_ip?: string; published?: string; target: number }[];
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
}
interface ComposeConfig {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

async function config(dir: string, project: string, files?: string[]): Promise<ComposeConfig> {
  return JSON.parse(await compose(dir, project, ['config', '--format', 'json'], files)) as ComposeConfig;
}

function service(cfg: ComposeConfig, name: string): ComposeService {
  const s = cfg.services[name];
  assert.ok(s, `service ${name} in ${Object.keys(cfg.services).join(', ')}`);
  return s;
}

/** A service's `depends_on` as dependency → condition. */
function conditions(s: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([name, d]) => [name, d.condition]));
}

/** Polls the API's /readyz until Temporal and NATS answer it. */
async function waitForReady(apiUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request<{ status: string }>(`${apiUrl}/readyz`).catch((err: Error) => ({ status: 0, body: err.message }));
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`GET ${apiUrl}/readyz: not ready after ${timeoutMs} ms: ${res.status} ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What Docker still has of a compose project: containers, networks, volumes (by compose's label). */
async function leftovers(project: string): Promise<Record<string, string[]>> {
  const label = `label=com.docker.compose.project=${project}`;
  const list = async (kind: string[], field: string) => (await stdoutOf('docker', [...kind, '--filter', label, '--format', `{{.${field}}}`])).split('\n').filter(Boolean);
  return {
    containers: await list(['ps', '-a'], 'Names'),
    networks: await list(['network', 'ls'], 'Name'),
    volumes: await list(['volume', 'ls'], 'Name'),
  };
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('Docker Compose v2 (scripts/setup-compose.sh)', () => {
  before(
    async () => {
      const started = Date.now();
      const plugin = (await stdoutOf('bash', ['scripts/setup-compose.sh'])).trim();
      console.log(`[compose] plugin ${plugin}; set-up took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    { timeout: 30 * 60_000 },
  );

  it('is the docker CLI plugin `docker compose`, version 2', async () => {
    assert.match(await stdoutOf('docker', ['compose', 'version']), /Docker Compose version v2\.\d+\.\d+/);
  });

  describe('docker-compose.yml', () => {
    it('is valid with .env.example as .env, and every service has a health check', async () => {
      const dir = projectDir({});
      dirs.push(dir);
      const cfg = await config(dir, `hades-test-${uniqueSuffix()}`);
      assert.deepEqual(Object.keys(cfg.services).sort(), services);
      for (const [name, s] of Object.entries(cfg.services)) {
        assert.ok(s.healthcheck?.test?.length && !s.healthcheck.disable && s.healthcheck.test[0] !== 'NONE', `${name} has a health check`);
        assert.equal(s.restart, 'unless-stopped', `${name} restarts`);
      }
      // The upstream images, each overridable from .env.
      assert.equal(service(cfg, 'api').image, 'hades-temporal:latest');
      assert.match(service(cfg, 'temporal').image, /^temporalio\/temporal:\d/);
      assert.match(service(cfg, 'temporal-ui').image, /^temporalio\/ui:\d/);
      assert.match(service(cfg, 'nats').image, /^nats:2\.\d+-alpine$/);
      for (const name of ['api', 'bridge', 'worker']) {
        const s = service(cfg, name);
        assert.equal(s.image, 'hades-temporal:latest');
        assert.deepEqual(s.command, [name]);
        assert.deepEqual(conditions(s), { nats: 'service_healthy', temporal: 'service_healthy' }, name);
        // In-stack addresses win over .env.example's 127.0.0.1 ones (meant for npm start).
        assert.equal(s.environment?.TEMPORAL_ADDRESS, 'temporal:7233');
        assert.equal(s.environment?.NATS_URL, 'nats://nats:4222');
        assert.equal(s.environment?.CONCURRENCY, '1', 'the rest of .env reaches Hades');
      }
      assert.deepEqual(conditions(service(cfg, 'temporal-ui')), { temporal: 'service_healthy' });
      // Published on loopback only; the API on API_PORT.
      for (const s of Object.values(cfg.services)) for (const p of s.ports ?? []) assert.equal(p.host_ip, '127.0.0.1', JSON.stringify(p));
      assert.deepEqual(
        service(cfg, 'api').ports?.map((p) => [p.published, p.target]),
        [['8080', 8080]],
      );
      // State on named volumes; the worker drives the host's Docker through its socket.
      assert.deepEqual(Object.keys(cfg.volumes ?? {}).sort(), ['nats-data', 'temporal-data']);
      assert.ok(service(cfg, 'temporal').volumes?.some((v) => v.type === 'volume' && v.source === 'temporal-data'));
      assert.ok(service(cfg, 'nats').volumes?.some((v) => v.type === 'volume' && v.source === 'nats-data'));
      assert.ok(service(cfg, 'worker').volumes?.some((v) => v.source === '/var/run/docker.sock' && v.target === '/var/run/docker.sock'));
      assert.equal(service(cfg, 'worker').user, 'root', 'the worker can use a socket of any group');
    });

    it('docker-compose.k8s.yml turns the worker to Kubernetes with a read-only kubeconfig and no Docker socket', async () => {
      const dir = projectDir({ KUBECONFIG: '/etc/hades-site/kubeconfig' });
      dirs.push(dir);
      const cfg = await config(dir, `hades-test-${uniqueSuffix()}`, [composeFile, k8sFile]);
      const worker = service(cfg, 'worker');
      assert.equal(worker.environment?.HADES_EXECUTOR, 'kubernetes');
      assert.equal(worker.environment?.KUBECONFIG, '/etc/hades/kubeconfig');
      assert.deepEqual(worker.volumes, [{ type: 'bind', source: '/etc/hades-site/kubeconfig', target: '/etc/hades/kubeconfig', read_only: true }]);
      assert.ok(!JSON.stringify(cfg).includes('docker.sock'), 'no service mounts the Docker socket');
      assert.equal(service(cfg, 'api').environment?.HADES_EXECUTOR, 'docker', 'only the worker changes');

      // .env.example leaves KUBECONFIG empty: the override says what to set.
      const unset = projectDir({});
      dirs.push(unset);
      await assert.rejects(config(unset, `hades-test-${uniqueSuffix()}`, [composeFile, k8sFile]), /set KUBECONFIG in \.env/);
    });
  });

  describe('the stack, with local images in place of the upstream ones', () => {
    const project = `hades-test-${uniqueSuffix()}`;
    const jobIds: string[] = [];
    let dir = '';
    let apiUrl = '';
    let uiUrl = '';
    let upped = false;
    let passed = false;

    before(
      async () => {
        const started = Date.now();
        const standIns = await stdoutOf('bash', ['scripts/build-compose-images.sh']);
        await runCommand('bash', ['scripts/build-hades-image.sh'], { ...process.env, HADES_IMAGE: hadesImage });
        console.log(`[compose] images ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const images = Object.fromEntries(standIns.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
        const [apiPort, uiPort, temporalPort, natsPort] = await freePorts(4);
        dir = projectDir({
          ...images,
          HADES_IMAGE: hadesImage,
          API_PORT: String(apiPort),
          TEMPORAL_UI_PORT: String(uiPort),
          TEMPORAL_PORT: String(temporalPort),
          NATS_PORT: String(natsPort),
        });
        dirs.push(dir);
        apiUrl = `http://127.0.0.1:${apiPort}`;
        uiUrl = `http://127.0.0.1:${uiPort}`;
      },
      { timeout: 30 * 60_000 },
    );

    after(
      async () => {
        if (upped) {
          if (!passed) console.error(`the compose stack's logs:\n${await compose(dir, project, ['logs', '--no-color', '--tail', '40']).catch((e: Error) => e.message)}`);
          await compose(dir, project, ['down', '--volumes', '--remove-orphans', '--timeout', '5']).catch((e: Error) => console.error(e.message));
        }
        await assertNoLeaks(jobIds);
      },
      { timeout: 2 * 60_000 },
    );

    it('comes up healthy, runs the README examples, keeps them over down and up, and down -v leaves nothing', { timeout: 10 * 60_000 }, async () => {
      let t = Date.now();
      const lap = (what: string) => {
        console.log(`[compose] ${what}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
        t = Date.now();
      };
      upped = true;
      // --wait: until every service's health check passes (or one fails).
      await compose(dir, project, ['up', '--detach', '--wait', '--wait-timeout', '240']);
      lap('up --wait');
      await waitForReady(apiUrl, 60_000);

      const hello = await submitJob(apiUrl, helloWorldJob(), jobIds);
      const shared = await submitJob(apiUrl, sharedVolumeJob(), jobIds);
      const helloJob = await waitForEnd(apiUrl, hello, 120_000);
      const sharedJob = await waitForEnd(apiUrl, shared, 120_000);
      assert.equal(helloJob.status, 'Succeeded', JSON.stringify(helloJob));
      assert.equal(helloJob.steps[0]?.outputTail?.trim(), 'Hello, Hades!');
      assert.equal(sharedJob.status, 'Succeeded', JSON.stringify(sharedJob));
      assert.equal(sharedJob.steps[2]?.outputTail?.trim(), 'Hello from step 1\nHello from step 2\nHello from step 3');
      lap('two example jobs');
      await assertNoLeaks(jobIds);

      // Temporal has Hades's search attributes: the job list filters on HadesStatus.
      // (Visibility trails the workflows a little: poll until both are listed.)
      const deadline = Date.now() + 30_000;
      let listed: string[] = [];
      while (listed.length < jobIds.length && Date.now() < deadline) {
        const res = await request<{ jobs: { id: string }[] }>(`${apiUrl}/jobs?status=Succeeded`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        listed = res.body.jobs.map((j) => j.id);
        if (listed.length < jobIds.length) await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(listed.sort(), [...jobIds].sort());
      // The Web UI service reads the stack's Temporal: it finds the job's workflow.
      const ui = await request<{ workflowExecutionInfo?: { execution?: { workflowId?: string } } }>(`${uiUrl}/api/v1/namespaces/default/workflows/${hello}`);
      assert.equal(ui.status, 200, JSON.stringify(ui.body));
      assert.equal(ui.body.workflowExecutionInfo?.execution?.workflowId, hello);

      // down keeps the named volumes: after up, the jobs and their logs are still there.
      await compose(dir, project, ['down', '--timeout', '10']);
      lap('down');
      await compose(dir, project, ['up', '--detach', '--wait', '--wait-timeout', '240']);
      lap('up --wait again');
      const again = await request<{ status: string }>(`${apiUrl}/jobs/${shared}`);
      assert.equal(again.body.status, 'Succeeded', JSON.stringify(again.body));
      const logs = await request<{ logs: { logs: { message: string }[] }[] }>(`${apiUrl}/jobs/${shared}/logs`);
      assert.equal(logs.status, 200);
      assert.ok(logs.body.logs.flatMap((l) => l.logs).some((l) => l.message === 'Hello from step 3'), JSON.stringify(logs.body));

      await compose(dir, project, ['down', '--volumes', '--timeout', '10']);
      lap('down --volumes');
      upped = false;
      assert.deepEqual(await leftovers(project), { containers: [], networks: [], volumes: [] });
      passed = true;
    });
  });
});
