import type Docker from 'dockerode';
import { coerceError, statusCodeOf } from '../../errors';
import { InvalidStepError, StepAbortedError, StepDetachedError } from '../errors';
import type { ContainerOutcome, Executor, StepHooks, StepRun } from '../executor';
import { demux } from './demux';
import type { ContainerDefaults } from './containerSpec';
import { containerSpec } from './containerSpec';
import { conciseDockerMessage, isConnectionError, isNoSuchImage, pullImage } from './images';
import type { PullPolicy } from './images';
import { containerName, labels, volumeName } from './names';

export interface DockerExecutorOptions extends ContainerDefaults {
  docker: Docker;
  pullPolicy: PullPolicy;
  /** Remove step containers and the job volume (off only to debug a job by hand). */
  cleanup: boolean;
  /** The most a job's volume may hold (JOB_STORAGE_LIMIT), checked this often while a step runs. */
  storage?: { limitBytes: number; checkMs: number };
}

/** A create refused for want of the image: pull it, then create again. */
class MissingImage extends Error {}

export function createDockerExecutor(options: DockerExecutorOptions): Executor {
  const { docker } = options;

  async function findContainer(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await docker.getContainer(name).inspect();
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** What runStep needs of its container: the create's answer, or an inspect of one found. */
  interface StepContainer {
    id: string;
    status: string;
    startedAt?: string;
  }

  const found = (info: Docker.ContainerInspectInfo): StepContainer => ({ id: info.Id, status: info.State.Status, startedAt: info.State.StartedAt });

  /**
   * The step's container, made in one call: the image is pulled only when the create says it is
   * missing (or always, by policy), and an existing container (a retried attempt's) is found by
   * the create's conflict, so a first attempt asks Docker nothing it already knows.
   */
  async function stepContainer(run: StepRun): Promise<StepContainer> {
    if (options.pullPolicy === 'always') {
      // A retry re-attaches without asking the registry (which may be what failed).
      const existing = await findContainer(containerName(run.jobId, run.step.index));
      if (existing) return found(existing);
      await pullImage(docker, run.step.image, run.pullTimeoutSeconds);
      return await createContainer(run, false);
    }
    try {
      return await createContainer(run, true);
    } catch (err) {
      if (!(err instanceof MissingImage)) throw err;
      await pullImage(docker, run.step.image, run.pullTimeoutSeconds);
      return await createContainer(run, false);
    }
  }

  async function createContainer(run: StepRun, pullIfMissing: boolean): Promise<StepContainer> {
    try {
      return { id: (await docker.createContainer(containerSpec(run, options))).id, status: 'created' };
    } catch (err) {
      const e = coerceError(err);
      const code = statusCodeOf(err);
      if (pullIfMissing && isNoSuchImage(err)) throw new MissingImage();
      // 409: an earlier attempt made it; re-attach to it.
      if (code === 409) {
        const existing = await findContainer(containerName(run.jobId, run.step.index));
        if (existing) return found(existing);
      }
      if (code === 400 || code === 404) {
        throw new InvalidStepError(`step "${run.step.name}" cannot run: ${conciseDockerMessage(e)}`, { cause: e });
      }
      throw e;
    }
  }

  async function runStep(run: StepRun, hooks: StepHooks): Promise<ContainerOutcome> {
    // Re-attach: a retried attempt picks up the container its predecessor left.
    const info = await stepContainer(run);
    const container = docker.getContainer(info.id);
    hooks.onContainer(info.id);
    if (hooks.signal.aborted) {
      await stopContainer(container);
      throw new StepAbortedError(info.id);
    }
    if (hooks.detach.aborted) throw new StepDetachedError(info.id);

    // A container this attempt starts is attached to first, as `docker run` does: its output
    // comes straight from the container, several times faster than through the log driver, and
    // from its first byte. One an earlier attempt started is read back from its log instead.
    let output: OutputStream;
    if (info.status === 'created') {
      output = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as OutputStream;
      try {
        await container.start();
      } catch (err) {
        output.destroy();
        const e = coerceError(err);
        if (statusCodeOf(err) === 400 || statusCodeOf(err) === 500) {
          throw new InvalidStepError(`step "${run.step.name}" could not start: ${conciseDockerMessage(e)}`, { cause: e });
        }
        throw e;
      }
    } else {
      output = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as OutputStream;
    }

    const unfollow = new AbortController();
    const drained = forwardOutput(output, hooks.onOutput, unfollow.signal);
    // Output that cannot be forwarded (the log stream down) fails the attempt, leaving the
    // container running: the retry re-attaches and resumes the log where it stopped.
    const forwardingFailed = drained.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => Promise.reject(coerceError(err)),
    );

    let timedOut = false;
    let storageExceeded: ContainerOutcome['storageExceeded'];
    let deadline: NodeJS.Timeout | undefined;
    let storageCheck: NodeJS.Timeout | undefined;
    const waited = container.wait({ abortSignal: unfollow.signal }) as Promise<{ StatusCode: number }>;
    const detached = new Promise<'detached'>((resolve) => {
      if (hooks.detach.aborted) resolve('detached');
      else hooks.detach.addEventListener('abort', () => resolve('detached'), { once: true });
    });
    const stopped = new Promise<'stopped'>((resolve) => {
      const onAbort = () => resolve('stopped');
      if (hooks.signal.aborted) onAbort();
      else hooks.signal.addEventListener('abort', onAbort, { once: true });
      if (run.step.timeoutSeconds !== undefined) {
        const remainingMs = remainingTime(info.startedAt, run.step.timeoutSeconds);
        deadline = setTimeout(() => {
          timedOut = true;
          resolve('stopped');
        }, remainingMs);
      }
      // A step that fills /shared past the job's limit is stopped before it fills the host's disk.
      const storage = options.storage;
      if (storage && storage.limitBytes > 0) {
        const check = async () => {
          const bytes = await volumeBytes(volumeName(run.jobId)).catch(() => undefined);
          if (bytes !== undefined && bytes > storage.limitBytes) {
            storageExceeded = { bytes, limitBytes: storage.limitBytes };
            resolve('stopped');
          } else {
            storageCheck = setTimeout(() => void check(), storage.checkMs);
          }
        };
        storageCheck = setTimeout(() => void check(), storage.checkMs);
      }
    });

    try {
      const first = await Promise.race([waited, stopped, detached, forwardingFailed]);
      if (first === 'detached') {
        // Everything forwarded so far is published; the next attempt resumes after it.
        unfollow.abort();
        await drained.catch(() => undefined);
        throw new StepDetachedError(info.id);
      }
      if (first === 'stopped') {
        await stopContainer(container);
        if (!timedOut && !storageExceeded) throw new StepAbortedError(info.id);
        await waited.catch(() => undefined);
      }
    } finally {
      if (deadline) clearTimeout(deadline);
      if (storageCheck) clearTimeout(storageCheck);
    }

    // Docker ends the log stream when the container stops: all output is through once it ends.
    await drained;
    const final = await container.inspect();
    const outcome: ContainerOutcome = {
      containerId: info.id,
      exitCode: final.State.ExitCode,
      startedAt: isoTime(final.State.StartedAt),
      finishedAt: isoTime(final.State.FinishedAt),
      oomKilled: final.State.OOMKilled,
      timedOut,
      ...(storageExceeded && { storageExceeded }),
    };
    // The container stays until the job's cleanup: a worker that dies before Temporal has this
    // result leaves it for the retry, which re-attaches and reads the same outcome instead of
    // running the step a second time.
    return outcome;
  }

  /** What a volume holds now, as Docker counts it (`docker system df -v`). */
  async function volumeBytes(name: string): Promise<number | undefined> {
    // Volumes only (dockerode's df() would have Docker size every container and image too).
    type VolumesUsage = { Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] };
    const df = await new Promise<VolumesUsage>((resolve, reject) => {
      docker.modem.dial({ path: '/system/df?', method: 'GET', options: { type: 'volume' }, statusCodes: { 200: true, 500: 'server error' } }, (err, data) =>
        err ? reject(coerceError(err)) : resolve(data as VolumesUsage),
      );
    });
    const size = df.Volumes?.find((v) => v.Name === name)?.UsageData?.Size;
    return size !== undefined && size >= 0 ? size : undefined;
  }

  async function cleanupJob(jobId: string): Promise<void> {
    if (!options.cleanup) return;
    const containers = await docker.listContainers({ all: true, filters: { label: [`${labels.job}=${jobId}`] } });
    await Promise.all(containers.map((c) => removeContainer(docker.getContainer(c.Id))));
    try {
      await docker.getVolume(volumeName(jobId)).remove({ force: true });
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
  }

  async function activeJobs(): Promise<Set<string>> {
    // This Hades's jobs only: another one (or another test) may run containers on the same daemon.
    const label = options.owner === undefined ? [labels.job] : [labels.job, `${labels.owner}=${options.owner}`];
    const containers = await docker.listContainers({ all: true, filters: { label } });
    return new Set(containers.flatMap((c) => c.Labels[labels.job] ?? []));
  }

  async function leftovers(): Promise<Map<string, number>> {
    // Only what this Hades made: another one may share the Docker host.
    const mine = options.owner === undefined ? undefined : [labels.job, `${labels.owner}=${options.owner}`];
    if (!mine) return new Map();
    const found = new Map<string, number>();
    const note = (job: string | undefined, createdMs: number) => {
      if (!job) return;
      const ms = Number.isFinite(createdMs) ? createdMs : Date.now();
      found.set(job, Math.min(found.get(job) ?? ms, ms));
    };
    const containers = await docker.listContainers({ all: true, filters: { label: mine } });
    for (const c of containers) note(c.Labels[labels.job], c.Created * 1000);
    const { Volumes } = await docker.listVolumes({ filters: { label: mine } });
    for (const v of Volumes ?? []) note(v.Labels?.[labels.job], Date.parse((v as { CreatedAt?: string }).CreatedAt ?? ''));
    return found;
  }

  return { kind: 'docker', runStep, cleanupJob, activeJobs, leftovers };
}

/** Docker's RFC 3339 times carry nanoseconds; the API speaks milliseconds like every other time. */
function isoTime(dockerTime: string): string {
  const ms = Date.parse(dockerTime);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : dockerTime;
}

function remainingTime(startedAt: string | undefined, timeoutSeconds: number): number {
  const started = Date.parse(startedAt ?? '');
  // A container that never started (or Docker's zero time) has its whole budget left.
  if (!Number.isFinite(started) || started <= 0) return timeoutSeconds * 1000;
  return Math.max(0, started + timeoutSeconds * 1000 - Date.now());
}

/** A container's multiplexed output (attach or follow-logs), read until Docker ends it. */
type OutputStream = AsyncIterable<Buffer> & { destroy(): void };

/** Forwards the container's output, from its start, until the container stops (or `stop`). */
async function forwardOutput(stream: OutputStream, onOutput: StepHooks['onOutput'], stop: AbortSignal): Promise<void> {
  if (stop.aborted) return stream.destroy();
  stop.addEventListener('abort', () => stream.destroy(), { once: true });
  for await (const frame of demux(stream)) {
    if (stop.aborted) return;
    await onOutput(frame.stream, frame.data);
  }
}

async function stopContainer(container: Docker.Container): Promise<void> {
  try {
    await container.kill();
  } catch (err) {
    // 404: gone already; 409: not running any more.
    const code = statusCodeOf(err);
    if (code !== 404 && code !== 409 && !(err instanceof Error && isConnectionError(err))) throw err;
  }
}

async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: false });
  } catch (err) {
    if (statusCodeOf(err) !== 404 && statusCodeOf(err) !== 409) throw err;
  }
}
