import Docker from 'dockerode';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/createActivities';
import { createDockerExecutor } from '../activities/docker/dockerExecutor';
import type { Executor } from '../activities/executor';
import type { Config } from '../config';
import type { LogStore } from '../logs/logStore';
import type { Metrics } from '../metrics';

export function createExecutor(config: Config): Executor {
  if (config.HADES_EXECUTOR === 'kubernetes') {
    throw new Error('HADES_EXECUTOR=kubernetes: the Kubernetes executor is not implemented yet; use HADES_EXECUTOR=docker');
  }
  return createDockerExecutor({
    docker: dockerClient(config.DOCKER_HOST),
    scriptExecutor: config.DOCKER_SCRIPT_EXECUTOR.split(/\s+/).filter(Boolean),
    pullPolicy: config.DOCKER_PULL_POLICY,
    cleanup: config.DOCKER_CLEANUP,
    ...(config.DOCKER_CPU_LIMIT !== undefined && { maxCpus: config.DOCKER_CPU_LIMIT }),
    ...(config.DOCKER_MEMORY_LIMIT !== undefined && { maxMemoryBytes: config.DOCKER_MEMORY_LIMIT }),
  });
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

export async function createHadesWorker(
  config: Config,
  options: { connection: NativeConnection; logs: LogStore; metrics?: Metrics; executor?: Executor; workflows?: WorkflowSource },
): Promise<Worker> {
  const executor = options.executor ?? createExecutor(config);
  return Worker.create({
    connection: options.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(options.workflows ?? workflowsSource),
    activities: createActivities({
      executor,
      logs: options.logs,
      ...(options.metrics && { metrics: options.metrics }),
      logLimits: { maxBytesPerStep: config.LOG_MAX_BYTES_PER_STEP, maxLineBytes: config.LOG_MAX_LINE_BYTES },
    }),
    // CONCURRENCY (as in Hades) bounds the steps, i.e. containers, one worker runs at once.
    maxConcurrentActivityTaskExecutions: config.CONCURRENCY,
  });
}

let runtimeInstalled = false;

export async function connectWorker(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'LOG_LEVEL'>): Promise<NativeConnection> {
  // The SDK's runtime can be set up once per process, before its first connection.
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') });
    } catch {
      // Installed already (another worker in this process): keep it.
    }
  }
  return NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
}
