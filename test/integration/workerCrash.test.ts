import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config';
import { runHades } from '../../src/main/run';
import type { Running } from '../../src/main/run';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import type { StepLogs } from '../../src/logs/types';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import type { TestStack } from '../helpers/stack';
import { startTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

const root = join(__dirname, '..', '..');

/** A worker in its own process, as production runs it (`HADES_ROLES=worker`). */
async function waitForLogLine(apiUrl: string, id: string, message: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await request<{ logs: StepLogs[] }>(`${apiUrl}/jobs/${id}/logs`);
    if (res.body.logs?.some((s) => s.logs.some((l) => l.message === message))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`"${message}" never reached the log of job ${id}`);
}

function spawnWorker(stack: TestStack): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH, ...stack.env, HADES_ROLES: 'worker' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

describe('a worker killed with SIGKILL during a step', () => {
  let stack: TestStack;
  let child: ChildProcess | undefined;
  let second: Running | undefined;
  before(async () => {
    stack = await startTestStack({ HADES_ROLES: 'api,bridge' });
  });
  after(async () => {
    child?.kill('SIGKILL');
    await second?.stop();
    await stack?.stop();
  });

  it('does not lose the job: the next worker re-attaches to the container and finishes it', async () => {
    child = spawnWorker(stack);
    const id = await submitJob(stack.apiUrl, {
      name: 'survives a crash',
      steps: [
        { id: 1, name: 'long', image: images.busybox, script: 'echo started; sleep 4; echo finished' },
        { id: 2, name: 'next', image: images.busybox, script: 'cat /shared/mark 2>/dev/null || echo second step ran' },
      ],
    });
    const before = await inspectRunningStep(id, 0, 60_000);
    // Kill only once the first line is published: the new worker must resume the log after it.
    await waitForLogLine(stack.apiUrl, id, 'started');
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    second = await runHades(parseConfig({ ...stack.env, HADES_ROLES: 'worker' }));
    const job = await waitForEnd(stack.apiUrl, id, 60_000);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail, 'started\nfinished\n', 'the step ran once: its container was re-attached, not started again');
    assert.equal(job.steps[0]?.startedAt, new Date(Date.parse(before.State.StartedAt)).toISOString());
    assert.equal(job.steps[1]?.outputTail?.trim(), 'second step ran');
    const logs = await request<{ logs: StepLogs[] }>(`${stack.apiUrl}/jobs/${id}/logs`);
    assert.deepEqual(logs.body.logs[0]?.logs.map((l) => l.message), ['started', 'finished'], 'each line logged once');
    await assertNoLeaks([id]);
  });
});
