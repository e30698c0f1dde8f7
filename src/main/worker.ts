import Docker from 'dockerode';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { State, WorkerOptions } from '@temporalio/worker';
import { IllegalStateError } from '@temporalio/common';
import { createActivities } from '../activities/createActivities';
import { createDockerExecutor } from '../activities/docker/dockerExecutor';
import type { Executor } from '../activities/executor';
import { createKubeClient } from '../activities/kubernetes/kubeClient';
import { createKubernetesExecutor } from '../activities/kubernetes/kubernetesExecutor';
import type { Config } from '../config';
import { payloadCodecs, temporalConnectionOptions } from '../temporal/connect';
import type { TemporalConnectionConfig } from '../temporal/connect';
import type { LogStore } from '../logs/logStore';
import type { Metrics } from '../metrics';
import type { StatusFeed } from '../queue/statusFeed';

export async function createExecutor(config: Config): Promise<Executor> {
  const limits = {
    scriptExecutor: config.DOCKER_SCRIPT_EXECUTOR.split(/\s+/).filter(Boolean),
    pullPolicy: config.DOCKER_PULL_POLICY,
    ...(config.DOCKER_CPU_LIMIT !== undefined && { maxCpus: config.DOCKER_CPU_LIMIT }),
    ...(config.DOCKER_MEMORY_LIMIT !== undefined && { maxMemoryBytes: config.DOCKER_MEMORY_LIMIT }),
    ...(config.DOCKER_PIDS_LIMIT > 0 && { maxPids: config.DOCKER_PIDS_LIMIT }),
  };
  if (config.HADES_EXECUTOR === 'kubernetes') {
    return createKubernetesExecutor({
      ...limits,
      client: await createKubeClient(config.KUBECONFIG),
      namespace: config.K8S_NAMESPACE,
      cleanup: config.DOCKER_CLEANUP,
      scheduleTimeoutSeconds: config.K8S_SCHEDULE_TIMEOUT_SECONDS,
      cpuRequest: config.K8S_CPU_REQUEST,
      memoryRequestBytes: config.K8S_MEMORY_REQUEST,
      runAsNonRoot: config.K8S_RUN_AS_NON_ROOT,
      capabilities: config.K8S_CAPABILITIES,
      volumeBytes: config.K8S_VOLUME_SIZE,
      ...(config.K8S_RUN_AS_USER !== undefined && { runAsUser: config.K8S_RUN_AS_USER }),
      ...(config.K8S_RUN_AS_GROUP !== undefined && { runAsGroup: config.K8S_RUN_AS_GROUP }),
      ...(config.K8S_STORAGE_CLASS !== undefined && { storageClass: config.K8S_STORAGE_CLASS }),
      ...(config.K8S_NETWORKLESS_RUNTIME_CLASS !== undefined && { networklessRuntimeClass: config.K8S_NETWORKLESS_RUNTIME_CLASS }),
    });
  }
  return createDockerExecutor({
    ...limits,
    docker: dockerClient(config.DOCKER_HOST),
    cleanup: config.DOCKER_CLEANUP,
    owner: ownerOf(config),
    storage: { limitBytes: config.JOB_STORAGE_LIMIT, checkMs: config.JOB_STORAGE_CHECK_SECONDS * 1000 },
  });
}

/** What marks this Hades's containers and volumes (its namespace and task queue). */
export function ownerOf(config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE'>): string {
  return `${config.TEMPORAL_NAMESPACE}.${config.TEMPORAL_TASK_QUEUE}`;
}

export function dockerClient(host: string | undefined): Docker {
  if (!host) return new Docker();
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' });
}

/** Where a worker gets its workflow code: a pre-built bundle (tests, fast start) or the source. */
export type WorkflowSource = Pick<WorkerOptions, 'workflowBundle'> | Pick<WorkerOptions, 'workflowsPath'>;

export const workflowsSource: WorkflowSource = { workflowsPath: require.resolve('../workflows') };

/** What runs: one Temporal worker, or two (the shared queue and this host's own) as one. */
export interface HadesWorker {
  run(): Promise<void>;
  shutdown(): void;
  getState(): State;
}

/** The task queue only the workers of one host poll (jobs pinned to that host). */
export function hostTaskQueue(config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'HADES_HOST_ID'>): string {
  return `${config.TEMPORAL_TASK_QUEUE}.host.${config.HADES_HOST_ID}`;
}

export async function createHadesWorker(
  config: Config,
  options: { connection: NativeConnection; logs: LogStore; statusFeed: StatusFeed; metrics?: Metrics; executor?: Executor; workflows?: WorkflowSource },
): Promise<HadesWorker> {
  const executor = options.executor ?? (await createExecutor(config));
  const hostQueue = config.PIN_JOBS_TO_HOST ? hostTaskQueue(config) : undefined;
  const activities = createActivities({
    executor,
    logs: options.logs,
    statusFeed: options.statusFeed,
    ...(options.metrics && { metrics: options.metrics }),
    logLimits: { maxBytesPerStep: config.LOG_MAX_BYTES_PER_STEP, maxLineBytes: config.LOG_MAX_LINE_BYTES },
    callbackMaxLogBytes: config.CALLBACK_MAX_LOG_BYTES,
    ...(hostQueue && { host: { taskQueue: hostQueue, concurrency: config.CONCURRENCY } }),
    ...((config.HADES_FAULT === 'worker-crash-after-step' || config.HADES_FAULT === 'worker-crash-before-status') && { fault: config.HADES_FAULT }),
  });
  const common = {
    connection: options.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: { payloadCodecs: payloadCodecs(config) },
    // CONCURRENCY (as in Hades) bounds the steps, i.e. containers, one worker runs at once.
    maxConcurrentActivityTaskExecutions: config.CONCURRENCY,
    // On shutdown, running steps get this long to finish; then they are cancelled with
    // WORKER_SHUTDOWN, which runStep answers by handing the step back (its container runs on).
    shutdownGraceTime: config.SHUTDOWN_GRACE_SECONDS * 1000,
    shutdownForceTime: config.SHUTDOWN_GRACE_SECONDS * 1000 + SHUTDOWN_FORCE_MARGIN_MS,
  };
  const shared = await Worker.create({ ...common, taskQueue: config.TEMPORAL_TASK_QUEUE, ...(options.workflows ?? workflowsSource), activities });
  const { runStep, cleanupJob, sendCallback, publishStatus } = activities;
  // Callbacks, cleanups and status events on a queue of their own: they never take a step's slot.
  const service = await Worker.create({
    ...common,
    taskQueue: serviceTaskQueue(config),
    activities: { cleanupJob, sendCallback, publishStatus },
    maxConcurrentActivityTaskExecutions: config.SERVICE_CONCURRENCY,
  });
  if (!hostQueue) return allWorkers([shared, service]);
  // Pinned jobs' steps and cleanup come through this host's queue, bounded by CONCURRENCY too.
  const own = await Worker.create({ ...common, taskQueue: hostQueue, activities: { runStep, cleanupJob } });
  return allWorkers([shared, service, own]);
}

/** Where callbacks and cleanups go (buildJob's serviceQueue). */
export function serviceTaskQueue(config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>): string {
  return `${config.TEMPORAL_TASK_QUEUE}.service`;
}

function allWorkers(workers: Worker[]): HadesWorker {
  return {
    async run() {
      // One failing stops the others, so they fail (and are replaced) as one.
      const runs = workers.map((w) =>
        w.run().catch((err: unknown) => {
          for (const other of workers) if (other.getState() === 'RUNNING') other.shutdown();
          throw err;
        }),
      );
      await Promise.all(runs);
    },
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
    getState: () => workers.find((w) => w.getState() !== 'RUNNING')?.getState() ?? 'RUNNING',
  };
}

/** After the grace time, what handing the steps back may take before the worker gives up. */
const SHUTDOWN_FORCE_MARGIN_MS = 15_000;

let runtimeInstalled = false;

export async function connectWorker(config: TemporalConnectionConfig & Pick<Config, 'LOG_LEVEL'>): Promise<NativeConnection> {
  // The SDK's runtime can be set up once per process, before its first connection.
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') });
    } catch (err) {
      // Installed already (another worker in this process): keep it. Anything else is real.
      if (!(err instanceof IllegalStateError)) throw err;
    }
  }
  return NativeConnection.connect(temporalConnectionOptions(config));
}
