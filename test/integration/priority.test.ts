import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitForEnd } from '../helpers/http';
import { docker } from '../helpers/docker';
import { inspectRunningStep, submitJob } from '../helpers/jobs';
import { until } from '../helpers/nats';
import { useTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

describe('priority', () => {
  const fixture = useTestStack({ CONCURRENCY: '1' });

  // Temporal dispatches by priority "in general, with small deviations" (more on a loaded
  // machine): the tests hold it to running the job among the first three, where
  // first-in-first-out runs it last (checked by taking the keys away).
  it('with the worker busy, a high job queued after ten low ones runs among the next three', async () => {
    const api = fixture.stack.apiUrl;
    const job = (name: string, priority: number, script = 'true') => ({ name, priority, steps: [{ id: 1, name, image: images.busybox, script }] });
    const blocker = await submitJob(api, job('blocker', 3, 'sleep 3'), fixture.jobIds);
    await inspectRunningStep(blocker, 0);
    const low: string[] = [];
    for (let i = 0; i < 10; i++) low.push(await submitJob(api, job(`low ${i}`, 1), fixture.jobIds));
    const high = await submitJob(api, job('high', 3), fixture.jobIds);

    const ended = await Promise.all([blocker, ...low, high].map((id) => waitForEnd(api, id, 60_000)));
    const order = ended
      .filter((j) => j.id !== blocker)
      .sort((a, b) => Date.parse(a.steps[0]!.startedAt!) - Date.parse(b.steps[0]!.startedAt!))
      .map((j) => j.name);
    assert.ok(order.indexOf('high') <= 2, `order of starts: ${order.join(', ')}`);
  });
});

describe('priority aging', () => {
  const fixture = useTestStack({ CONCURRENCY: '1', PRIORITY_AGING_SECONDS: '1' });

  it('lets a low job that waited past the aging time run before most of the high jobs queued after it', async () => {
    const api = fixture.stack.apiUrl;
    const job = (name: string, priority: number, script = 'true') => ({ name, priority, steps: [{ id: 1, name, image: images.busybox, script }] });
    // The blocker holds the only slot until the test lets it go: once the low job's step has
    // waited past the aging time and been scheduled again with the aged key (the server fires
    // schedule-to-start timeouts from its timer queue, late on a busy machine).
    const blocker = await submitJob(api, job('blocker', 3, 'while [ ! -e /shared/go ]; do sleep 0.1; done'), fixture.jobIds);
    const blocking = await inspectRunningStep(blocker, 0);
    const low = await submitJob(api, job('low', 1), fixture.jobIds);
    const highs: string[] = [];
    for (let i = 0; i < 8; i++) highs.push(await submitJob(api, job(`high ${i}`, 3), fixture.jobIds));
    await until(
      'the low job’s step to be scheduled again, aged',
      async () => {
        const history = await fixture.stack.client.workflow.getHandle(low).fetchHistory();
        return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStep').length >= 2;
      },
      60_000,
      200,
    );
    const go = await docker.getContainer(blocking.Id).exec({ Cmd: ['touch', '/shared/go'] });
    // Detached: Docker has started it once it answers. The answer is a stream that holds its
    // connection (and so this test process) open until it is read or destroyed.
    (await go.start({ Detach: true })).destroy();

    const ended = await Promise.all([low, ...highs].map((id) => waitForEnd(api, id, 60_000)));
    const order = ended.sort((a, b) => Date.parse(a.steps[0]!.startedAt!) - Date.parse(b.steps[0]!.startedAt!)).map((j) => j.name);
    // Without aging it runs last, ninth.
    assert.ok(order.indexOf('low') <= 2, `order of starts: ${order.join(', ')}`);
  });
});
