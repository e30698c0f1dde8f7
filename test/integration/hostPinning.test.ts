import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import { copyImages, startSecondDockerd } from '../../scripts/topology/dockerDaemon';
import type { SecondDockerd } from '../../scripts/topology/dockerDaemon';
import { parseConfig } from '../../src/config';
import { runHades } from '../../src/main/run';
import type { Running } from '../../src/main/run';
import { assertNoLeaks, docker } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { startTestStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import { images, testEnv } from '../helpers/testEnv';

// Docker on two hosts: a second Docker daemon here stands for the second host. A job's /shared
// volume exists on one daemon only, so all its steps must run where its first step ran.

/** The task queue each runStep activity of the job was scheduled on, in order. */
async function stepQueues(stack: TestStack, id: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    return a?.activityType?.name === 'runStep' ? [a.taskQueue?.name ?? '?'] : [];
  });
}

describe('jobs pinned to a host (PIN_JOBS_TO_HOST), with workers on two Docker daemons', () => {
  let second: SecondDockerd | undefined;
  let stack: TestStack | undefined;
  const workers: Running[] = [];
  const jobIds: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hpin-'));
  after(async () => {
    for (const w of workers) await w.stop();
    await stack?.stop();
    await assertNoLeaks(jobIds);
    if (second) await assertNoLeaks(jobIds, new Docker({ socketPath: second.socketPath }));
    await second?.stop({ kill: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every step of a job on one daemon, passing /shared along, and spreads jobs over both', async () => {
    second = await startSecondDockerd({ dir: join(dir, 'd'), logDir: testEnv.runDir, name: `pin-${process.pid}` });
    await copyImages(docker, new Docker({ socketPath: second.socketPath }), [images.busybox]);
    const pinned = { PIN_JOBS_TO_HOST: 'true', HOST_CHECK_SECONDS: '5' };
    stack = await startTestStack({ HADES_ROLES: 'api,bridge', ...pinned });
    const common = { ...stack.env, ...pinned, HADES_ROLES: 'worker', CONCURRENCY: '1' };
    workers.push(await runHades(parseConfig({ ...common, HADES_HOST_ID: 'host-a' })));
    workers.push(await runHades(parseConfig({ ...common, HADES_HOST_ID: 'host-b', DOCKER_HOST: second.host })));

    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(
        await submitJob(
          stack.apiUrl,
          {
            name: `pinned ${i}`,
            steps: [
              { id: 1, name: 'write', image: images.busybox, script: `echo job ${i} > /shared/trail` },
              // Long enough that a host is still busy with one job when the next is claimed: the next goes elsewhere.
              { id: 2, name: 'append', image: images.busybox, script: 'sleep 3; echo step 2 >> /shared/trail' },
              { id: 3, name: 'read', image: images.busybox, script: 'cat /shared/trail' },
            ],
          },
          jobIds,
        ),
      );
    }
    const queues = new Set<string>();
    for (const [i, id] of ids.entries()) {
      const job = await waitForEnd(stack.apiUrl, id, 120_000);
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.equal(job.steps[2]?.outputTail, `job ${i}\nstep 2\n`, 'each step saw what the one before wrote to /shared');
      const onQueues = await stepQueues(stack, id);
      assert.equal(onQueues.length, 3);
      assert.equal(new Set(onQueues).size, 1, `all steps on one host: ${onQueues.join(', ')}`);
      queues.add(onQueues[0] ?? '');
    }
    const base = stack.config.TEMPORAL_TASK_QUEUE;
    assert.deepEqual([...queues].sort(), [`${base}.host.host-a`, `${base}.host.host-b`], 'the jobs landed on both daemons');
  });
});
