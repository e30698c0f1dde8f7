import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createLogStore } from '../../src/logs/logStore';
import { statusFeedNames } from '../../src/main/run';
import { connectWorker, createHadesWorker } from '../../src/main/worker';
import { createStatusFeed } from '../../src/queue/statusFeed';
import { superviseWorker } from '../../src/main/workerSupervisor';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import { until, withNats } from '../helpers/nats';
import { useTestStack } from '../helpers/stack';
import { helloWorldJob } from '../fixtures/examples';

describe('a worker that dies', () => {
  // API and bridge only: the supervised worker below is the one that runs the jobs.
  const fixture = useTestStack({ HADES_ROLES: 'api,bridge' });

  it('is replaced by a new one that goes on running jobs', async () => {
    const { config } = fixture.stack;
    await withNats(config.NATS_URL, async (nc) => {
      const logs = await createLogStore(nc, { stream: config.NATS_LOG_STREAM, subjectPrefix: config.NATS_LOG_SUBJECT_PREFIX }, { maxAgeHours: 1, maxBytes: 1e8 });
      const supervised = await superviseWorker(async () => {
        const connection = await connectWorker(config);
        return { connection, worker: await createHadesWorker(config, { connection, logs, statusFeed: createStatusFeed(nc, statusFeedNames(config)), workflows: { workflowBundle: { codePath: config.HADES_WORKFLOW_BUNDLE! } } }) };
      }, pino({ level: 'silent' }));
      try {
        const first = supervised.current().worker;
        await until('the worker to run', async () => first.getState() === 'RUNNING');
        first.shutdown(); // as if the SDK had given up on Temporal
        await until('a new worker', async () => supervised.restarts() === 1 && supervised.current().worker.getState() === 'RUNNING', 30_000);
        assert.notEqual(supervised.current().worker, first);
        const id = await submitJob(fixture.stack.apiUrl, helloWorldJob(), fixture.jobIds);
        assert.equal((await waitForEnd(fixture.stack.apiUrl, id)).status, 'Succeeded');
      } finally {
        await supervised.stop();
      }
    });
  });
});
