import { connect } from 'nats';
import type { NatsConnection } from 'nats';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app';
import { listen } from '../api/httpServer';
import { startBridge } from '../bridge/bridge';
import type { Bridge } from '../bridge/bridge';
import type { Config } from '../config';
import { withDefaultStepTimeout } from '../job';
import { createLogStore } from '../logs/logStore';
import type { LogStore } from '../logs/logStore';
import type { LogNames } from '../logs/types';
import { createMetrics } from '../metrics';
import { createJobQueue, startedIds } from '../queue/jobQueue';
import type { QueueNames, QueueSettings } from '../queue/subjects';
import { jetStreamOptions } from '../queue/streams';
import { payloadReader } from '../queue/payloadBucket';
import { createStatusFeed } from '../queue/statusFeed';
import type { StatusFeedNames } from '../queue/statusFeed';
import { connectTemporal, payloadCodecs } from '../temporal/connect';
import { createJobStore } from '../temporal/jobStore';
import { jobExists, startJob } from '../temporal/jobs';
import { bridgeLog, createLogger } from './logger';
import { connectWorker, createExecutor, createHadesWorker } from './worker';
import { startReaper } from './reaper';
import { serveMetrics } from './metricsServer';
import { natsConnectionOptions } from './natsOptions';
import { withStartupRetry } from './startupRetry';
import { superviseWorker } from './workerSupervisor';
import type { WorkflowSource } from './worker';

export function queueNames(config: Config): QueueNames {
  return {
    stream: config.NATS_JOB_STREAM,
    subjectPrefix: config.NATS_JOB_SUBJECT_PREFIX,
    consumer: config.NATS_CONSUMER,
    submissionsBucket: config.NATS_SUBMISSIONS_BUCKET,
  };
}

export function queueSettings(config: Config): QueueSettings {
  return { duplicateWindowSeconds: config.NATS_DUPLICATE_WINDOW_SECONDS, retryMaxSeconds: config.BRIDGE_RETRY_MAX_SECONDS, maxDeliveries: config.BRIDGE_MAX_DELIVERIES, replicas: config.NATS_REPLICAS, submitFormat: config.SUBMIT_FORMAT, payloadBucket: config.NATS_PAYLOAD_BUCKET };
}

export function statusFeedNames(config: Config): StatusFeedNames {
  return { statusPrefix: config.NATS_STATUS_SUBJECT_PREFIX, eventsPrefix: config.NATS_EVENTS_SUBJECT_PREFIX };
}

export function logNames(config: Config): LogNames {
  return { stream: config.NATS_LOG_STREAM, subjectPrefix: config.NATS_LOG_SUBJECT_PREFIX };
}

export async function openLogStore(nc: NatsConnection, config: Config): Promise<LogStore> {
  return createLogStore(nc, logNames(config), { maxAgeHours: config.LOG_RETENTION_HOURS, maxBytes: config.LOG_STREAM_MAX_BYTES, replicas: config.NATS_REPLICAS });
}

export interface Running {
  /** The API's port when the api role runs (the real one, also when API_PORT=0). */
  apiPort?: number;
  stop(): Promise<void>;
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the roles the config asks for (api, bridge, worker) in this process. `onFatal`: a role gave up for good (the bridge could not consume for long): the process should
 * stop and exit non-zero, so its supervisor starts it again.
 */
export async function runHades(config: Config, options: { workflows?: WorkflowSource; onFatal?: (reason: string) => void } = {}): Promise<Running> {
  const log = createLogger(config);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log.error({ err }, 'stop failed'));
  };
  try {
    const roles = new Set(config.HADES_ROLES);
    let temporal: { client: Client; connection: Connection } | undefined;
    const nc: NatsConnection = await connect(natsConnectionOptions(config, { name: `hades-${[...roles].join('+')}`, maxReconnectAttempts: -1 }));
    const conn = nc;
    stops.push(() => conn.drain());
    const retryLog = (msg: string, data: object) => log.warn(data, msg);
    const logs = await withStartupRetry('the log stream set-up', () => openLogStore(nc, config), retryLog);
    const jsm = await nc.jetstreamManager(jetStreamOptions);
    const statusFeed = createStatusFeed(nc, statusFeedNames(config));
    const metrics = createMetrics({
      queueDepth: async () => (await jsm.consumers.info(config.NATS_JOB_STREAM, config.NATS_CONSUMER)).num_pending,
    });
    if (!config.HADES_ENCRYPTION_KEYS) {
      log.warn('HADES_ENCRYPTION_KEYS is not set: Temporal stores job input (metadata too), memo and step results in clear');
    }
    if (roles.has('api') || roles.has('bridge')) {
      temporal = await connectTemporal(config);
      const tc = temporal.connection;
      stops.push(() => tc.close());
    }

    if (roles.has('worker')) {
      const workflows = options.workflows ?? (config.HADES_WORKFLOW_BUNDLE ? { workflowBundle: { codePath: config.HADES_WORKFLOW_BUNDLE } } : undefined);
      const supervised = await superviseWorker(async () => {
        const connection = await connectWorker(config);
        try {
          return { connection, worker: await createHadesWorker(config, { connection, logs, statusFeed, metrics, ...(workflows && { workflows }) }) };
        } catch (err) {
          await connection.close().catch(() => undefined);
          throw err;
        }
      }, log.child({ role: 'worker' }));
      stops.push(() => supervised.stop());
      // The reaper: an executor of its own, the worker's lives in the SDK worker.
      if (config.DOCKER_CLEANUP) {
        const executor = await createExecutor(config);
        temporal ??= await connectTemporal(config);
        const tc = temporal.connection;
        if (!roles.has('api') && !roles.has('bridge')) stops.push(() => tc.close());
        const client = temporal.client;
        const reaper = startReaper({
          executor,
          isRunning: async (jobId) => {
            try {
              return (await client.workflow.getHandle(jobId).describe()).status.name === 'RUNNING';
            } catch (err) {
              return !(err instanceof WorkflowNotFoundError);
            }
          },
          intervalMs: config.REAPER_INTERVAL_SECONDS * 1000,
          graceMs: config.REAPER_GRACE_SECONDS * 1000,
          log: log.child({ role: 'reaper' }),
        });
        stops.push(() => reaper.stop());
      }
      log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, concurrency: config.CONCURRENCY, executor: config.HADES_EXECUTOR }, 'worker running');
    }

    // An API without a bridge may share the stream with another scheduler (SUBMIT_FORMAT=reference).
    const besideOtherScheduler = roles.has('bridge') ? undefined : (reason: string) => log.warn({ reason }, 'the job stream is consumed by another scheduler; this API only submits to it');
    const queue = roles.has('api') || roles.has('bridge') ? await withStartupRetry('the job queue set-up', () => createJobQueue(nc, queueNames(config), queueSettings(config), besideOtherScheduler), retryLog) : undefined;

    if (roles.has('bridge') && temporal && queue) {
      const client = temporal.client;
      const bridge: Bridge = await withStartupRetry('the bridge set-up', async () => startBridge({
        nc,
        names: queueNames(config),
        settings: queueSettings(config),
        started: await startedIds(nc.jetstream(jetStreamOptions), config.NATS_STARTED_BUCKET, config.JOB_ID_MEMORY_DAYS, config.NATS_REPLICAS),
        markRejected: (id, reason, seen) => queue.markRejected(id, reason, seen),
        allowedNetworks: config.STEP_NETWORKS,
        ...((config.HADES_FAULT === 'bridge-crash-after-start' || config.HADES_FAULT === 'bridge-slow-start') && { fault: config.HADES_FAULT }),
        statusFeed,
        payloads: payloadReader(nc.jetstream(jetStreamOptions), config.NATS_PAYLOAD_BUCKET),
        jobExists: (id) => jobExists(client, id),
        startJob: async (spec) => {
          // A job cancelled before its start never starts; one cancelled while we started it is cancelled now.
          if ((await queue.submission(spec.id))?.cancelRequested) return 'cancelled';
          await startJob(client, withDefaultStepTimeout(spec, config.STEP_TIMEOUT_SECONDS), {
            taskQueue: config.TEMPORAL_TASK_QUEUE,
            pullTimeoutSeconds: config.DOCKER_PULL_TIMEOUT_SECONDS,
            priorityAgingSeconds: config.PRIORITY_AGING_SECONDS,
            ...(config.PIN_JOBS_TO_HOST && { pinToHost: { checkSeconds: config.HOST_CHECK_SECONDS, lostSeconds: config.HOST_LOST_SECONDS } }),
            callback: {
              maximumAttempts: config.CALLBACK_MAX_ATTEMPTS,
              initialIntervalSeconds: config.CALLBACK_INITIAL_INTERVAL_SECONDS,
              maximumIntervalSeconds: config.CALLBACK_MAX_INTERVAL_SECONDS,
              timeoutSeconds: config.CALLBACK_TIMEOUT_SECONDS,
            },
          });
          metrics.jobsStarted.inc();
          if ((await queue.submission(spec.id))?.cancelRequested) await client.workflow.getHandle(spec.id).cancel();
          return 'started';
        },
        log: bridgeLog(log.child({ role: 'bridge' })),
        ...(options.onFatal && { onGiveUp: options.onFatal }),
      }), retryLog);
      stops.push(() => bridge.stop());
      log.info({ stream: config.NATS_JOB_STREAM }, 'bridge running');
    }

    let apiPort: number | undefined;
    if (roles.has('api') && temporal && queue) {
      const { client, connection } = temporal;
      if (!config.AUTH_KEY) log.warn('AUTH_KEY is not set: POST /build and the job routes accept anyone');
      const closing = new AbortController();
      const app = createApp({
        closing: closing.signal,
        queue,
        jobs: createJobStore(client, { taskQueue: config.TEMPORAL_TASK_QUEUE, onCancelBeforeStart: (id) => queue.requestCancel(id) }),
        logs,
        metrics,
        readiness: async () => ({
          temporal: await connection.healthService.check({}).then(
            () => true,
            () => false,
          ),
          nats: !conn.isClosed() && (await withTimeout(conn.flush(), 2000)),
        }),
        ...(config.AUTH_KEY && { authKey: config.AUTH_KEY }),
        allowedNetworks: config.STEP_NETWORKS,
        started: await withStartupRetry('the started-jobs bucket set-up', () => startedIds(nc.jetstream(jetStreamOptions), config.NATS_STARTED_BUCKET, config.JOB_ID_MEMORY_DAYS, config.NATS_REPLICAS), retryLog),
        ...(config.HADES_ENCRYPTION_KEYS && { codec: payloadCodecs(config)[0] }),
        codecCorsOrigins: config.CODEC_CORS_ORIGINS,
        logError: (err) => log.error({ err }, 'request failed'),
      });
      const api = await listen(app, config.API_PORT, config.API_HOST);
      apiPort = api.port;
      stops.push(async () => {
        // Stop accepting first; then live log streams get a final event and end, and the
        // requests in flight are answered (within the grace time).
        const closed = api.close(config.SHUTDOWN_GRACE_SECONDS * 1000);
        closing.abort();
        await closed;
      });
      log.info({ port: apiPort }, 'api listening');
    }

    if (!roles.has('api') && config.METRICS_PORT !== undefined) {
      const served = await serveMetrics(metrics, config.METRICS_PORT, config.METRICS_HOST);
      stops.push(() => served.stop());
      log.info({ port: served.port }, 'metrics listening');
    }

    return { ...(apiPort !== undefined && { apiPort }), stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
