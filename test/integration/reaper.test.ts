import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { until } from '../helpers/nats';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

describe('the reaper', () => {
  const fixture = useTestStack({ REAPER_INTERVAL_SECONDS: '1', REAPER_GRACE_SECONDS: '1', CONCURRENCY: '2' });

  it('removes what a terminated job left, and nothing of a job still running', async () => {
    const { apiUrl, client } = fixture.stack;
    const doomed = await submitJob(apiUrl, { name: 'terminated', steps: [{ image: images.busybox, script: 'sleep 60' }] }, fixture.jobIds);
    const alive = await submitJob(apiUrl, { name: 'still running', steps: [{ image: images.busybox, script: 'sleep 4; echo survived' }] }, fixture.jobIds);
    await inspectRunningStep(doomed, 0, 60_000);
    await inspectRunningStep(alive, 0, 60_000);
    // Terminated: no cleanup activity runs, its container and volume stay behind.
    await client.workflow.getHandle(doomed).terminate('test: as an operator would');
    await until(
      'the reaper to remove the terminated job’s container and volume',
      () =>
        assertNoLeaks([doomed]).then(
          () => true,
          () => false,
        ),
      60_000,
      250,
    );
    const job = await waitForEnd(apiUrl, alive, 60_000);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail?.trim(), 'survived');
  });
});
