import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../../src/config';
import { parseConfig } from '../../src/config';
import { runHades } from '../../src/main/run';
import { assertNoLeaks } from './docker';
import { testEnv } from './testEnv';

export interface TestStack {
  /** The env that configures another process (a spawned worker) for this stack. */
  env: Record<string, string>;
  config: Config;
  apiUrl: string;
  client: Client;
  suffix: string;
  stop(): Promise<void>;
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * The settings that keep one Hades apart from every other on the shared test servers: its own
 * task queue, streams, subjects, consumer and buckets (names made from `suffix`).
 */
export function isolatedEnv(suffix: string): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    NATS_URL: testEnv.natsUrl,
    TEMPORAL_TASK_QUEUE: `test-${suffix}`,
    NATS_JOB_STREAM: `TEST_JOBS_${suffix}`,
    NATS_JOB_SUBJECT_PREFIX: `test.${suffix}.jobs`,
    NATS_CONSUMER: `bridge-${suffix}`,
    NATS_SUBMISSIONS_BUCKET: `TEST_SUBMISSIONS_${suffix}`,
    NATS_STARTED_BUCKET: `TEST_STARTED_${suffix}`,
    NATS_LOG_STREAM: `TEST_LOGS_${suffix}`,
    NATS_LOG_SUBJECT_PREFIX: `test.${suffix}.logs`,
    NATS_STATUS_SUBJECT_PREFIX: `test.${suffix}.jobstatus`,
    NATS_EVENTS_SUBJECT_PREFIX: `test.${suffix}.jobevents`,
    NATS_PAYLOAD_BUCKET: `TEST_PAYLOADS_${suffix}`,
    // JetStream reserves a stream's max_bytes from its storage: a hundred stacks at the default
    // 1G each exhaust the test server ("insufficient storage resources available").
    LOG_STREAM_MAX_BYTES: '128M',
  };
}

/**
 * Hades (api + bridge + worker) in this process against the shared test servers, isolated by its
 * own task queue, stream, subjects, consumer and KV bucket.
 */
export async function startTestStack(overrides: Record<string, string> = {}): Promise<TestStack> {
  const suffix = uniqueSuffix();
  const env: Record<string, string> = {
    ...isolatedEnv(suffix),
    HADES_WORKFLOW_BUNDLE: testEnv.workflowBundle,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    CONCURRENCY: '2',
    ...overrides,
  };
  const config = parseConfig(env);
  const running = await runHades(config);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  return {
    env,
    config,
    apiUrl: `http://127.0.0.1:${running.apiPort ?? 0}`,
    client,
    suffix,
    async stop() {
      await running.stop();
      await connection.close();
    },
  };
}

export interface StackFixture {
  /** The running stack (valid inside tests, after `before`). */
  readonly stack: TestStack;
  /** Ids of jobs the tests submitted: `after` fails if any left a container or volume. */
  readonly jobIds: string[];
}

/** Starts a test stack before the suite's tests and stops it after them, checking for leaks. */
export function useTestStack(overrides: Record<string, string> = {}): StackFixture {
  let stack: TestStack | undefined;
  const jobIds: string[] = [];
  before(async () => {
    stack = await startTestStack(overrides);
  });
  after(async () => {
    await stack?.stop();
    await assertNoLeaks(jobIds);
  });
  return {
    get stack() {
      if (!stack) throw new Error('the test stack is not started yet');
      return stack;
    },
    jobIds,
  };
}
