import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { helloWorldJob } from '../fixtures/examples';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

const bin = join(__dirname, '..', '..', 'bin', 'hades.js');
const dir = mkdtempSync(join(tmpdir(), 'hades-cli-'));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function hades(args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function jobFile(name: string, job: unknown): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(job));
  return path;
}

describe('the hades CLI', () => {
  const fixture = useTestStack({ AUTH_KEY: 'cli-key' });
  const env = () => ({ HADES_URL: fixture.stack.apiUrl, HADES_AUTH_KEY: 'cli-key' });

  it('submit --follow prints the live logs and exits 0 when the job succeeds', async () => {
    const ran = await hades(['submit', jobFile('hello', helloWorldJob()), '--follow'], env());
    assert.equal(ran.code, 0, ran.stderr);
    const [id, ...lines] = ran.stdout.trim().split('\n');
    fixture.jobIds.push(id!);
    assert.deepEqual(lines, ['[Hello World] Hello, Hades!']);
    assert.match(ran.stderr, new RegExp(`job ${id} Succeeded`));

    const status = await hades(['status', id!], env());
    assert.equal(status.code, 0);
    assert.match(status.stdout, /status +Succeeded/);
    assert.match(status.stdout, /1 +Succeeded +Hello World/);
    const logs = await hades(['logs', id!], env());
    assert.equal(logs.stdout.trim(), '[Hello World] Hello, Hades!');
    const list = await hades(['list', '--limit', '5'], env());
    assert.match(list.stdout, new RegExp(`${id} +Succeeded`));
    const cancel = await hades(['cancel', id!], env());
    assert.equal(cancel.code, 3);
    assert.match(cancel.stderr, /409: job .* has already ended \(Succeeded\)/);
  });

  it('submit waits with progress and exits 1 when the job fails', async () => {
    const failing = { name: 'cli fails', steps: [{ id: 1, name: 'boom', image: images.busybox, script: 'sleep 1; exit 4' }] };
    const ran = await hades(['submit', jobFile('fails', failing)], env());
    fixture.jobIds.push(ran.stdout.trim());
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /… Running: step 1\/1 "boom"/);
    assert.match(ran.stderr, /Failed: step "boom" exited with code 4/);
  });

  it('says clearly when the API refuses, cannot be reached, or is called wrongly', async () => {
    const invalid = await hades(['submit', jobFile('invalid', { steps: [] })], env());
    assert.equal(invalid.code, 3);
    assert.match(invalid.stderr, /400: the job is invalid: 2 problems\n {2}name: name is required\n {2}steps: a job needs at least one step/);

    const noKey = await hades(['status', 'x'], { HADES_URL: fixture.stack.apiUrl });
    assert.equal(noKey.code, 3);
    assert.match(noKey.stderr, /401: .* \(set HADES_AUTH_KEY or --auth-key\)/);

    const port = await freePort();
    const down = await hades(['list'], { HADES_URL: `http://127.0.0.1:${port}` });
    assert.equal(down.code, 3);
    assert.match(down.stderr, new RegExp(`cannot reach the Hades API at http://127.0.0.1:${port} \\(ECONNREFUSED\\)`));

    const usage = await hades(['frobnicate'], env());
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown command "frobnicate"/);
    const missing = await hades(['submit', join(dir, 'nope.json')], env());
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read a job from/);
  });
});
