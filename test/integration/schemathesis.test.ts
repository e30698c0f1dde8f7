import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { projectRoot } from '../../scripts/services';
import { useTestStack } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

// Schemathesis (PyPI, installed by set-up) generates requests from /openapi.json, valid and
// invalid, for every operation: no answer may be a 5xx, and every answer must be one the document
// declares (status code, content type, body schema). The API runs alone: accepted jobs only queue.
// A short run (the coverage phase, then fuzzing for the rest of a minute; no stateful phase) fits
// npm test.
const fixture = useTestStack({ HADES_ROLES: 'api', AUTH_KEY: 'schemathesis-key' });

it("answers every generated request without a 5xx, as its OpenAPI document says", { timeout: 600_000 }, async () => {
  const st = join(projectRoot, '.tools', 'venv', 'bin', 'st');
  assert.ok(existsSync(st), `${st} is missing: run npm run setup -- --schemathesis (npm test does it)`);
  const reports = join(testEnv.runDir, `schemathesis-${fixture.stack.suffix}`);
  mkdirSync(reports, { recursive: true });
  // Asynchronously: the API under test runs in this process.
  const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
    st,
    [
      'run', `${fixture.stack.apiUrl}/openapi.json`,
      '--checks', 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance',
      '--auth', 'hades:schemathesis-key',
      '--phases', 'examples,coverage,fuzzing',
      // The live stream of a job that is only queued (no worker here) never ends: left to logs.test.ts.
      '--exclude-path-regex', '/logs/stream$', '--max-examples', '10', '--seed', '1', '--workers', '1', '--max-time', '60',
      '--request-timeout', '30', '--report', 'junit', '--report-dir', reports,
    ],
    // In the run's directory: schemathesis keeps its cache (.schemathesis/) where it runs.
    { cwd: reports, encoding: 'utf8', timeout: 300_000, maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1' } },
    (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
  console.log(run.stdout.split('\n').filter((l) => /in [0-9.]+s\)|passed|generated/.test(l)).join('\n'));
  assert.equal(run.status, 0, `schemathesis found problems:\n${run.stdout.slice(-6000)}\n${run.stderr.slice(-2000)}`);
  assert.match(run.stdout, /passed/i);
});
