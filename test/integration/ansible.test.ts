import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCommand } from '../helpers/command';
import { uniqueSuffix } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

// ansible/playbook.yml and its role (ansible/roles/hades) with ansible-core from the project's
// venv (scripts/setup-ansible.sh), against this machine over the local connection. The role never
// installs a package or starts the stack here: every run sets hades_manage_packages=false and
// hades_start=false, and hades_dir is a directory of the test run.

const root = join(__dirname, '..', '..');
const playbook = join(root, 'ansible', 'playbook.yml');
const ansiblePlaybook = join(root, '.tools', 'venv', 'bin', 'ansible-playbook');
// $, # and a space: .env must keep them literally (compose reads single-quoted values as they are).
const authKey = 'an$ible #key 1';

let dir = '';
let env: Record<string, string | undefined> = {};

/** ansible-playbook on the playbook with the test inventory; extra variables as JSON (-e). */
function play(vars: Record<string, unknown>, args: string[] = []): Promise<string> {
  return runCommand(ansiblePlaybook, ['-i', join(dir, 'inventory.ini'), playbook, '-e', JSON.stringify({ hades_manage_packages: false, hades_start: false, ...vars }), ...args], env);
}

/** The PLAY RECAP's counts for localhost. */
function recap(output: string): Record<string, number> {
  const line = output.split('\n').find((l) => /^localhost\s+:\s+ok=/.test(l));
  assert.ok(line, `no PLAY RECAP in:\n${output}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

describe('ansible/playbook.yml (role hades)', () => {
  before(
    async () => {
      const started = Date.now();
      await runCommand('bash', ['scripts/setup-ansible.sh']);
      dir = join(testEnv.runDir, `ansible-${uniqueSuffix()}`);
      mkdirSync(dir, { recursive: true });
      // As ansible/inventory.example.ini, without become (the tests run as the user they are).
      writeFileSync(join(dir, 'inventory.ini'), `[hades]\nlocalhost ansible_connection=local ansible_become=false ansible_python_interpreter=${join(root, '.tools', 'venv', 'bin', 'python')}\n`);
      env = { PATH: process.env.PATH, HOME: process.env.HOME, ANSIBLE_HOME: join(dir, 'ansible-home'), ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: 'false' };
      console.log(`[ansible] ${(await runCommand(ansiblePlaybook, ['--version'], env)).split('\n')[0]}; set-up took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    { timeout: 5 * 60_000 },
  );

  it('passes --syntax-check', async () => {
    await runCommand(ansiblePlaybook, ['-i', join(root, 'ansible', 'inventory.example.ini'), playbook, '--syntax-check'], env);
  });

  it('runs in --check --diff mode, showing the files it would write and writing none', { timeout: 2 * 60_000 }, async () => {
    const target = join(dir, 'check');
    const output = await play({ hades_dir: target, hades_auth_key: authKey }, ['--check', '--diff']);
    assert.equal(recap(output).failed, 0, output);
    assert.match(output, /TASK \[hades : Write \.env\][^\n]*\n[\s\S]*?\+AUTH_KEY=/, output);
    assert.ok(!existsSync(target), 'check mode creates nothing');
  });

  it('writes .env (0600) and docker-compose.yml, and a second run changes nothing', { timeout: 2 * 60_000 }, async () => {
    const target = join(dir, 'opt-hades');
    const vars = { hades_dir: target, hades_auth_key: authKey, hades_image: 'registry.example.org/hades-temporal:9.9.9', hades_api_port: 18080, hades_concurrency: 4 };
    let t = Date.now();
    const first = recap(await play(vars));
    console.log(`[ansible] first run ${((Date.now() - t) / 1000).toFixed(1)} s`);
    assert.equal(first.failed, 0);
    assert.ok((first.changed ?? 0) >= 3, JSON.stringify(first));

    const envFile = join(target, '.env');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    const text = readFileSync(envFile, 'utf8');
    assert.ok(text.includes(`AUTH_KEY='${authKey}'\n`), text);
    assert.match(text, /^HADES_IMAGE='registry\.example\.org\/hades-temporal:9\.9\.9'$/m);
    assert.match(text, /^API_PORT=18080$/m);
    assert.match(text, /^CONCURRENCY=4$/m);
    assert.equal(readFileSync(join(target, 'docker-compose.yml'), 'utf8'), readFileSync(join(root, 'docker-compose.yml'), 'utf8'));

    t = Date.now();
    const second = recap(await play(vars));
    console.log(`[ansible] second run ${((Date.now() - t) / 1000).toFixed(1)} s`);
    assert.equal(second.changed, 0, JSON.stringify(second));
    assert.equal(second.failed, 0);
  });

  it('runs `docker compose up -d` when a file changed or nothing runs, else not (a stand-in for docker compose)', { timeout: 3 * 60_000 }, async () => {
    // hades_compose_command points at a script that logs its arguments: `version --short` answers
    // 2.40.3, `ps` lists one running container unless the file `stopped` exists.
    const target = join(dir, 'compose-up');
    const log = join(dir, 'compose-calls.log');
    const stopped = join(dir, 'stopped');
    const fake = join(dir, 'fake-compose.sh');
    writeFileSync(
      fake,
      `#!/bin/sh
echo "$PWD $*" >>'${log}'
case "$*" in
  'version --short') echo 2.40.3 ;;
  *' ps '*) [ -e '${stopped}' ] || echo 0123abcd ;;
esac
`,
    );
    chmodSync(fake, 0o755);
    const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
    const ups = () => calls().filter((c) => / up /.test(c));
    const vars = { hades_dir: target, hades_auth_key: authKey, hades_start: true, hades_compose_command: [fake] };

    assert.equal(recap(await play(vars)).failed, 0);
    assert.deepEqual(ups(), [`${target} -f docker-compose.yml up --detach --remove-orphans`], 'new files: up');
    assert.equal(recap(await play(vars)).changed, 0);
    assert.equal(ups().length, 1, 'nothing changed and the stack runs: no up');
    assert.equal(recap(await play({ ...vars, hades_concurrency: 2 })).failed, 0);
    assert.equal(ups().length, 2, '.env changed: up');
    writeFileSync(stopped, '');
    await play({ ...vars, hades_concurrency: 2 });
    assert.equal(ups().length, 3, 'nothing runs: up');
    await assert.rejects(play({ ...vars, hades_compose_command: ['/bin/echo'] }), /needs Docker Compose v2 2\.24\.4 or newer/);
  });

  it('refuses to run without hades_auth_key, saying so', { timeout: 2 * 60_000 }, async () => {
    const target = join(dir, 'no-key');
    await assert.rejects(play({ hades_dir: target }), /hades_auth_key is not set/);
    assert.ok(!existsSync(target), 'nothing written');
  });
});
