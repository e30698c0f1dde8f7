import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { uniqueSuffix } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

const root = join(__dirname, '..', '..');

describe('scripts/setup.sh', () => {
  it('refuses a Node.js older than 20.12 (no process.loadEnvFile) with a message, before doing anything', () => {
    const bin = join(testEnv.runDir, `old-node-${uniqueSuffix()}`);
    mkdirSync(bin, { recursive: true });
    // A node that says it is 20.11.1 and answers -p as that version would.
    writeFileSync(join(bin, 'node'), `#!/bin/sh\nexec ${process.execPath} -e 'Object.defineProperty(process.versions, "node", { value: "20.11.1" }); console.log(eval(process.argv[2]))' -- "$2"\n`);
    chmodSync(join(bin, 'node'), 0o755);
    const run = spawnSync('bash', ['scripts/setup.sh', '--no-images'], { cwd: root, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }, encoding: 'utf8' });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /Node\.js 20\.12 or newer is needed/);
  });
});
