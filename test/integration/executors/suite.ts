import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { StepLogs } from '../../../src/logs/types';
import { helloWorldJob, sharedVolumeJob } from '../../fixtures/examples';
import type { ExecutorTarget } from '../../helpers/executorTarget';
import { workerProcessRun } from '../../helpers/workerProcess';
import { request, waitForEnd } from '../../helpers/http';
import { submitJob, waitForLogLine } from '../../helpers/jobs';
import { until } from '../../helpers/nats';
import { useTestStack } from '../../helpers/stack';
import { activityAttempts, activityTimeline, lastFailureTypes } from '../../helpers/temporal';
import { images } from '../../helpers/testEnv';

/**
 * What a job gets from its executor, the same on Docker and on Kubernetes: one suite, run by
 * docker.test.ts and kubernetes.test.ts. Every test checks that its job left nothing behind.
 */
export function executorSuite(target: ExecutorTarget): void {
  describe(`jobs on the ${target.name} executor`, () => {
    const fixture = useTestStack(target.overrides());
    const submit = (payload: unknown) => submitJob(fixture.stack.apiUrl, payload, fixture.jobIds);
    const end = async (id: string, timeoutMs = 90_000) => {
      const job = await waitForEnd(fixture.stack.apiUrl, id, timeoutMs);
      await target.assertNoLeaks([id]);
      return job;
    };
    after(() => target.assertNoLeaks(fixture.jobIds));

    it('runs the Hello World example', async () => {
      const job = await end(await submit(helloWorldJob()));
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.equal(job.steps[0]?.exitCode, 0);
      assert.equal(job.steps[0]?.outputTail?.trim(), 'Hello, Hades!');
    });

    it('passes data between steps through /shared (the shared-volume example)', async () => {
      const job = await end(await submit(sharedVolumeJob()));
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.deepEqual(job.steps[2]?.outputTail?.trim().split('\n'), ['Hello from step 1', 'Hello from step 2', 'Hello from step 3']);
    });

    it('gives a step job metadata, step metadata (step wins), UUID and JOB_NAME, in /shared', async () => {
      const id = await submit({
        name: 'env job',
        metadata: { GLOBAL: 'from job', SHARED: 'from job' },
        steps: [{ id: 1, name: 'env', image: images.busybox, metadata: { SHARED: 'from step' }, script: 'echo "$GLOBAL|$SHARED|$UUID|$JOB_NAME|$(pwd)"' }],
      });
      const job = await end(id);
      assert.equal(job.steps[0]?.outputTail?.trim(), `from job|from step|${id}|env job|/shared`);
    });

    it('ends Failed on a failing step, names it and its exit code, skips the rest, retries nothing', async () => {
      const id = await submit({
        name: 'fails',
        steps: [
          { id: 1, name: 'ok', image: images.busybox, script: 'true' },
          { id: 2, name: 'boom', image: images.busybox, script: 'echo about to fail; exit 3' },
          { id: 3, name: 'never', image: images.busybox, script: 'echo should not run' },
        ],
      });
      const job = await end(id);
      assert.equal(job.status, 'Failed');
      assert.equal(job.reason, 'step "boom" exited with code 3');
      assert.deepEqual(job.steps.map((s) => s.status), ['Succeeded', 'Failed', 'Skipped']);
      assert.equal(job.steps[1]?.exitCode, 3);
      assert.equal(job.steps[1]?.outputTail?.trim(), 'about to fail');
      // A user's failure is a result, never retried: every step ran once, and the failing one
      // cleaned up after itself (no cleanup activity).
      assert.deepEqual(await activityAttempts(fixture.stack.client, id), ['runStep 1', 'runStep 1']);
    });

    it('goes on past a failing step marked continue_on_error', async () => {
      const job = await end(
        await submit({
          name: 'continues',
          steps: [
            { id: 1, name: 'allowed to fail', image: images.busybox, script: 'exit 1', continue_on_error: true },
            { id: 2, name: 'runs anyway', image: images.busybox, script: 'echo ran' },
          ],
        }),
      );
      assert.equal(job.status, 'Succeeded');
      assert.deepEqual(job.steps.map((s) => s.status), ['Failed', 'Succeeded']);
      assert.equal(job.steps[1]?.outputTail?.trim(), 'ran');
    });

    it('fails fast, naming the image, when the image cannot be pulled (not retried)', async () => {
      const id = await submit({ name: 'no image', steps: [{ id: 1, name: 'ghost', image: '127.0.0.1:1/nope/ghost:1', script: 'true' }] });
      const job = await end(id);
      assert.equal(job.status, 'Failed');
      assert.match(job.reason ?? '', /127\.0\.0\.1:1\/nope\/ghost:1/);
      assert.deepEqual(await activityAttempts(fixture.stack.client, id), ['runStep 1', 'cleanupJob 1'], 'a failed pull is not retried; the job is cleaned up by its own activity');
    });

    it('ends a job over its timeout_seconds TimedOut, its step killed', async () => {
      const id = await submit({ name: 'too slow', timeout_seconds: 3, steps: [{ id: 1, name: 'slow', image: images.busybox, script: 'sleep 600' }] });
      const job = await end(id);
      assert.equal(job.status, 'TimedOut');
      assert.equal(job.reason, 'job timed out after 3 s');
      assert.equal(job.steps[0]?.status, 'TimedOut');
    });

    it('kills a step over its own timeout_seconds; the job ends TimedOut with what the step wrote', async () => {
      const id = await submit({
        name: 'slow step',
        steps: [
          { id: 1, name: 'slow', image: images.busybox, script: 'echo start; sleep 600', timeout_seconds: 2 },
          { id: 2, name: 'never', image: images.busybox, script: 'true' },
        ],
      });
      const job = await end(id);
      assert.equal(job.status, 'TimedOut');
      assert.deepEqual(job.steps.map((s) => s.status), ['TimedOut', 'Skipped']);
      assert.equal(job.steps[0]?.outputTail?.trim(), 'start');
    });

    it('cancel stops the running step; the job ends Cancelled and the next step never runs', async () => {
      const id = await submit({
        name: 'cancel me',
        steps: [
          { id: 1, name: 'long', image: images.busybox, script: 'sleep 600' },
          { id: 2, name: 'after', image: images.busybox, script: 'true' },
        ],
      });
      await target.runningStep(id, 0);
      await fixture.stack.client.workflow.getHandle(id).cancel();
      // A step left running would hold the job open for 600 s, far past this wait.
      const job = await end(id, 60_000);
      assert.equal(job.status, 'Cancelled');
      assert.deepEqual(job.steps.map((s) => s.status), ['Cancelled', 'Skipped']);
      // The workflow closes once the end is also said on the status feed, after the state.
      const handle = fixture.stack.client.workflow.getHandle(id);
      await handle.result().catch(() => undefined);
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      // The cleanup waits for the cancelled step to let go of its container, never racing it.
      assert.deepEqual(await activityTimeline(fixture.stack.client, id), ['runStep scheduled', 'runStep ended', 'cleanupJob scheduled', 'cleanupJob ended']);
    });

    it('reports a step killed for memory as out of memory', async () => {
      const job = await end(
        await submit({
          name: 'oom',
          steps: [{ id: 1, name: 'hungry', image: images.debian, memory_limit: '32M', script: 'python3 -c "b = bytearray(512 * 1024 * 1024); print(len(b))"' }],
        }),
      );
      assert.equal(job.status, 'Failed');
      assert.equal(job.steps[0]?.exitCode, 137);
      assert.match(job.reason ?? '', /out of memory/);
    });

    it('runs a step under the CPU and memory limits it asked for, as its own cgroup reads them', async () => {
      // cgroup v2 files first, v1 after: whichever this kernel mounts.
      const script = [
        'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
        'cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
      ].join('; ');
      const job = await end(await submit({ name: 'limits', steps: [{ id: 1, name: 'limited', image: images.busybox, cpu_limit: 0.5, memory_limit: '64M', script }] }));
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.deepEqual(job.steps[0]?.outputTail?.trim().split('\n'), [String(64 * 1024 * 1024), '50000 100000']);
    });

    it('cuts a `network: none` step off a server that a step with the default network reaches', async () => {
      const probe = await target.startProbeServer();
      try {
        // busybox's nc (its static wget crashes resolving): one HTTP request, the body's line kept.
        const { host, port } = new URL(probe.url);
        const get = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port} | grep probe-ok`;
        // The server may take a moment to listen: the reaching step tries for a while.
        const reach = `for i in $(seq 1 40); do ${get} && exit 0; sleep 0.5; done; exit 1`;
        const job = await end(
          await submit({
            name: 'network',
            steps: [
              { id: 1, name: 'connected', image: images.busybox, script: reach },
              { id: 2, name: 'isolated', image: images.busybox, network: 'none', script: `${get} && echo REACHED || echo refused` },
            ],
          }),
        );
        assert.equal(job.status, 'Succeeded', JSON.stringify(job));
        assert.equal(job.steps[0]?.outputTail?.trim(), 'probe-ok');
        assert.match(job.steps[1]?.outputTail ?? '', /refused/);
        assert.doesNotMatch(job.steps[1]?.outputTail ?? '', /REACHED|probe-ok/);
      } finally {
        await probe.stop();
      }
    });
  });

  describe(`a worker SIGKILLed during a step on the ${target.name} executor`, () => {
    const run = workerProcessRun(target.overrides(), (ids) => target.assertNoLeaks(ids));

    it('does not lose the job: the next worker re-attaches to the same container and logs each line once', async () => {
      // A worker in its own process, as production runs it (`HADES_ROLES=worker`).
      const { stack, worker, jobIds } = await run.start({});
      const id = await submitJob(
        stack.apiUrl,
        {
          name: 'survives a crash',
          steps: [
            { id: 1, name: 'long', image: images.busybox, script: 'echo started; sleep 4; echo finished' },
            { id: 2, name: 'next', image: images.busybox, script: 'echo second step ran' },
          ],
        },
        jobIds,
      );
      const before = await target.runningStep(id, 0, 90_000);
      // Kill only once the first line is published: the new worker must resume the log after it.
      await waitForLogLine(stack.apiUrl, id, 'started');
      worker.kill('SIGKILL');
      await worker.exited;
      await run.secondWorker();
      const job = await waitForEnd(stack.apiUrl, id, 90_000);
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.equal(job.steps[0]?.outputTail, 'started\nfinished\n', 'the step ran once: its container was re-attached, not started again');
      assert.equal(job.steps[0]?.startedAt, before.startedAt);
      assert.equal(job.steps[1]?.outputTail?.trim(), 'second step ran');
      const logs = await request<{ logs: StepLogs[] }>(`${stack.apiUrl}/jobs/${id}/logs`);
      assert.deepEqual(logs.body.logs[0]?.logs.map((l) => l.message), ['started', 'finished'], 'each line logged once');
      await target.assertNoLeaks([id]);
    });
  });

  describe(`a worker killed after a step ended, before Temporal recorded it, on the ${target.name} executor`, () => {
    const run = workerProcessRun(target.overrides(), (ids) => target.assertNoLeaks(ids));

    it('does not run the step again: the retry finds its ended container and takes its result', async () => {
      const { stack, worker, jobIds } = await run.start({ HADES_FAULT: 'worker-crash-after-step' });
      const id = await submitJob(
        stack.apiUrl,
        {
          name: 'crash after a step',
          steps: [
            // Each run of step 1 adds a line to the job's volume; step 2 counts them.
            { id: 1, name: 'count me', image: images.busybox, script: 'echo run >> /shared/runs; echo step one ran' },
            { id: 2, name: 'count', image: images.busybox, script: 'wc -l < /shared/runs' },
          ],
        },
        jobIds,
      );
      assert.equal((await worker.exited).signal, 'SIGKILL', 'the worker died after the step, as the fault says');
      await run.secondWorker();
      const job = await waitForEnd(stack.apiUrl, id, 90_000);
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.equal(job.steps[1]?.outputTail?.trim(), '1', 'step 1 ran once');
      assert.equal(job.steps[0]?.outputTail, 'step one ran\n');
      assert.deepEqual(await activityAttempts(stack.client, id), ['runStep 2', 'runStep 1'], 'step 1 took a second attempt, which ran nothing');
      await target.assertNoLeaks([id]);
    });
  });

  describe(`a worker killed after the step a job ended with cleaned up, before Temporal recorded it, on the ${target.name} executor`, () => {
    const run = workerProcessRun(target.overrides(), (ids) => target.assertNoLeaks(ids));

    it('does not run the step again: the retry takes the result recorded beside its logs', async () => {
      const { stack, worker, jobIds } = await run.start({ HADES_FAULT: 'worker-crash-after-step' });
      const id = await submitJob(stack.apiUrl, { name: 'crash after the last step', steps: [{ id: 1, name: 'once', image: images.busybox, script: 'echo ran once; exit 4' }] }, jobIds);
      assert.equal((await worker.exited).signal, 'SIGKILL', 'the worker died after the step, as the fault says');
      const crashedAt = Date.now();
      // The step's activity cleaned up before it died: the job's end holds nothing already.
      await target.assertNoLeaks([id]);
      await run.secondWorker();
      const job = await waitForEnd(stack.apiUrl, id, 90_000);
      assert.equal(job.status, 'Failed', JSON.stringify(job));
      assert.equal(job.steps[0]?.exitCode, 4);
      assert.equal(job.steps[0]?.outputTail, 'ran once\n');
      assert.ok(Date.parse(job.steps[0]?.finishedAt ?? '') < crashedAt, `the reported run ended before the crash (${job.steps[0]?.finishedAt}): no second run`);
      assert.deepEqual(await activityAttempts(stack.client, id), ['runStep 2'], 'the second attempt took the recorded result; no cleanup activity was needed');
      const logs = await request<{ logs: StepLogs[] }>(`${stack.apiUrl}/jobs/${id}/logs`);
      assert.deepEqual(logs.body.logs.map((l) => l.logs.map((line) => line.message)), [['ran once']], 'logged once');
    });
  });

  describe(`a worker stopped (SIGTERM) with a step running past its grace time on the ${target.name} executor`, () => {
    const run = workerProcessRun(target.overrides(), (ids) => target.assertNoLeaks(ids));

    it('hands the step back: it exits 0, and the next worker re-attaches to the same container', async () => {
      const { stack, worker, jobIds } = await run.start({ SHUTDOWN_GRACE_SECONDS: '1' });
      const id = await submitJob(
        stack.apiUrl,
        {
          name: 'handed back',
          steps: [
            { id: 1, name: 'long', image: images.busybox, script: 'echo started; sleep 10; echo finished' },
            { id: 2, name: 'next', image: images.busybox, script: 'echo second step ran' },
          ],
        },
        jobIds,
      );
      const before = await target.runningStep(id, 0, 90_000);
      await waitForLogLine(stack.apiUrl, id, 'started');
      worker.kill('SIGTERM');
      const exit = await worker.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, worker.output().slice(-3000));

      await run.secondWorker();
      const job = await waitForEnd(stack.apiUrl, id, 90_000);
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.equal(job.steps[0]?.outputTail, 'started\nfinished\n', 'the container ran on and was re-attached, not started again');
      assert.equal(job.steps[0]?.startedAt, before.startedAt);
      assert.deepEqual(await activityAttempts(stack.client, id), ['runStep 2', 'runStep 1'], 'the first step took a second attempt, on the new worker (then step 2, which cleaned up)');
      assert.deepEqual(await lastFailureTypes(stack.client, id), ['WorkerShutdown', undefined], 'its first attempt was handed back');
      const logs = await request<{ logs: StepLogs[] }>(`${stack.apiUrl}/jobs/${id}/logs`);
      assert.deepEqual(logs.body.logs[0]?.logs.map((l) => l.message), ['started', 'finished'], 'each line logged once');
      await target.assertNoLeaks([id]);
    });
  });

  describe(`the reaper on the ${target.name} executor`, () => {
    const fixture = useTestStack({ ...target.overrides(), REAPER_INTERVAL_SECONDS: '1', REAPER_GRACE_SECONDS: '1', CONCURRENCY: '2' });
    after(() => target.assertNoLeaks(fixture.jobIds));

    it('removes what a terminated job left, and nothing of a job still running', async () => {
      const { apiUrl, client } = fixture.stack;
      const doomed = await submitJob(apiUrl, { name: 'terminated', steps: [{ image: images.busybox, script: 'sleep 120' }] }, fixture.jobIds);
      const alive = await submitJob(apiUrl, { name: 'still running', steps: [{ image: images.busybox, script: 'echo started; sleep 4; echo survived' }] }, fixture.jobIds);
      await target.runningStep(doomed, 0, 90_000);
      await waitForLogLine(apiUrl, alive, 'started', 90_000);
      // Terminated: no cleanup activity runs, so its container (pod) and volume (claim) stay behind.
      await client.workflow.getHandle(doomed).terminate('test: as an operator would');
      await until('the reaper to remove what the terminated job left', () => target.assertNoLeaks([doomed]).then(() => true, () => false), 90_000, 250);
      const job = await waitForEnd(apiUrl, alive, 90_000);
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      assert.equal(job.steps[0]?.outputTail, 'started\nsurvived\n');
      await target.assertNoLeaks([alive]);
    });
  });
}
