import type { V1Pod } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { coerceError } from '../../errors';
import { ImagePullError, InvalidStepError, StepAbortedError, StepDetachedError } from '../errors';
import type { ContainerOutcome, Executor, StepHooks, StepRun } from '../executor';
import type { KubeClient } from './kubeClient';
import { kubeMessageOf, kubeStatusOf } from './kubeClient';
import { followPodLogs } from './podLogs';
import type { PodDefaults } from './podSpec';
import { claimSpec, isolationPolicySpec, jobSelector, kubernetesNetworks, podSpec, stepContainer, unsupportedLimits } from './podSpec';
import type { PodState } from './podState';
import { podState } from './podState';
import { PodWatch } from './podWatch';
import { labels } from '../labels';
import { claimName, jobIdAnnotation, podName } from './names';

export interface KubernetesExecutorOptions extends PodDefaults {
  client: KubeClient;
  namespace: string;
  /** A pod the scheduler cannot place for this long fails its step with the scheduler's reason. */
  scheduleTimeoutSeconds: number;
  /** Remove pods, claims and policies of a job when it ends (off only to debug a job by hand). */
  cleanup: boolean;
}

/** Grace for deleting a running pod on cancel or timeout: at once, as far as the kubelet goes. */
const KILL_GRACE_SECONDS = 1;
/** How long cleanup waits for a job's objects to be gone before it fails (and is retried). */
const CLEANUP_WAIT_MS = 90_000;
const imageReasons = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

/** Steps as pods: one pod per step, one claim per job for `/shared`, Temporal owning the rest. */
export function createKubernetesExecutor(options: KubernetesExecutorOptions): Executor {
  const { client, namespace } = options;
  const core = client.core;

  async function readPod(name: string): Promise<V1Pod | undefined> {
    try {
      return await core.readNamespacedPod({ namespace, name });
    } catch (err) {
      if (kubeStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Creates an object unless it exists (409: an earlier attempt or step made it). */
  async function createOnce(create: () => Promise<unknown>): Promise<void> {
    try {
      await create();
    } catch (err) {
      if (kubeStatusOf(err) !== 409) throw err;
    }
  }

  async function createPod(run: StepRun): Promise<V1Pod> {
    await createOnce(() => core.createNamespacedPersistentVolumeClaim({ namespace, body: claimSpec(run.jobId, options) }));
    if (run.step.network === 'none') {
      // Before the pod: the policy must exist when the pod's first packet leaves.
      await createOnce(() => client.networking.createNamespacedNetworkPolicy({ namespace, body: isolationPolicySpec(run.jobId) }));
    }
    try {
      return await core.createNamespacedPod({ namespace, body: podSpec(run, options) });
    } catch (err) {
      const code = kubeStatusOf(err);
      if (code === 409) {
        const existing = await readPod(podName(run.jobId, run.step.index));
        if (existing) return existing;
      }
      // 422: the API server refuses the pod as specified (bad env name, bad quantity): the user's.
      if (code === 422 || code === 400) {
        throw new InvalidStepError(`step "${run.step.name}" cannot run: ${kubeMessageOf(err)}`, { cause: coerceError(err) });
      }
      throw coerceError(err);
    }
  }

  async function deletePod(name: string, graceSeconds: number): Promise<void> {
    try {
      await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: graceSeconds });
    } catch (err) {
      if (kubeStatusOf(err) !== 404) throw err;
    }
  }

  async function runStep(run: StepRun, hooks: StepHooks): Promise<ContainerOutcome> {
    const { step } = run;
    if (step.network !== undefined && !(kubernetesNetworks as readonly string[]).includes(step.network)) {
      throw new InvalidStepError(`step "${step.name}" asks for network "${step.network}": on Kubernetes a step has the pod network, "host" or "none"`);
    }
    const name = podName(run.jobId, step.index);
    // Re-attach: a retried attempt picks up the pod its predecessor left.
    const created = (await readPod(name)) ?? (await createPod(run));
    hooks.onContainer(name);
    for (const note of unsupportedLimits(step)) await hooks.onOutput('stderr', Buffer.from(`[hades] ${note}\n`));
    if (hooks.signal.aborted) {
      await deletePod(name, KILL_GRACE_SECONDS);
      throw new StepAbortedError(name);
    }
    if (hooks.detach.aborted) throw new StepDetachedError(name);

    const watch = new PodWatch(client, namespace, name, created);
    // Aborted: delete the pod. Detached (the worker stops): leave it for the next attempt.
    const aborted = new Promise<'aborted' | 'detached'>((resolve) => {
      if (hooks.signal.aborted) resolve('aborted');
      else hooks.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
      hooks.detach.addEventListener('abort', () => resolve('detached'), { once: true });
    });
    try {
      const started = await untilStarted(run, watch, aborted);
      if (started === 'aborted') {
        await deletePod(name, KILL_GRACE_SECONDS);
        throw new StepAbortedError(name);
      }
      if (started === 'detached') throw new StepDetachedError(name);
      return await untilStopped(run, name, started, watch, aborted, hooks);
    } finally {
      watch.close();
    }
  }

  /** Waits for the container to run (or end); fails fast when it never can. */
  async function untilStarted(
    run: StepRun,
    watch: PodWatch,
    aborted: Promise<'aborted' | 'detached'>,
  ): Promise<Exclude<PodState, { kind: 'pending' | 'cannot-start' | 'lost' }> | 'aborted' | 'detached'> {
    const { step } = run;
    const name = podName(run.jobId, step.index);
    for (;;) {
      if (watch.error) throw watch.error;
      if (watch.gone) throw new Error(`pod ${name} was deleted before its step ran`);
      const state = podState(watch.latest);
      if (state.kind === 'running' || state.kind === 'terminated') return state;
      if (state.kind === 'cannot-start') {
        await deletePod(name, 0);
        if (imageReasons.has(state.reason)) throw new ImagePullError(step.image, `${state.reason}: ${state.message}`);
        throw new InvalidStepError(`step "${step.name}" cannot run: ${state.reason}: ${state.message}`);
      }
      if (state.kind === 'lost') {
        await deletePod(name, 0);
        throw new Error(`pod ${name} ended before its container ran: ${state.reason}: ${state.message}`);
      }
      // Pending: scheduling has its own bound; a scheduled pod must start within the pull timeout.
      const limitMs = state.unschedulable !== undefined ? options.scheduleTimeoutSeconds * 1000 : (options.scheduleTimeoutSeconds + run.pullTimeoutSeconds) * 1000;
      const leftMs = state.since + limitMs - Date.now();
      if (leftMs <= 0) {
        await deletePod(name, 0);
        if (state.unschedulable !== undefined) {
          throw new InvalidStepError(`step "${step.name}" could not be scheduled within ${options.scheduleTimeoutSeconds} s: ${state.unschedulable}`);
        }
        throw new ImagePullError(step.image, `container not started within ${run.pullTimeoutSeconds} s${state.waiting ? ` (${state.waiting})` : ''}`);
      }
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, leftMs)));
      const next = await Promise.race([watch.changed(), expired, aborted]);
      clearTimeout(timer);
      if (next === 'aborted' || next === 'detached') return next;
    }
  }

  /** Forwards the output until the container stops (or the step is cancelled or times out). */
  async function untilStopped(
    run: StepRun,
    name: string,
    started: Extract<PodState, { kind: 'running' | 'terminated' }>,
    watch: PodWatch,
    aborted: Promise<'aborted' | 'detached'>,
    hooks: StepHooks,
  ): Promise<ContainerOutcome> {
    const stopped = async (): Promise<Extract<PodState, { kind: 'terminated' }>> => {
      for (;;) {
        if (watch.error) throw watch.error;
        if (watch.gone) throw new Error(`pod ${name} was deleted while its step ran`);
        if (watch.closed) throw new Error(`stopped following pod ${name}`);
        const state = podState(watch.latest);
        if (state.kind === 'terminated') return state;
        await watch.changed();
      }
    };
    const logsDone = followPodLogs({
      client,
      namespace,
      pod: name,
      container: stepContainer,
      signal: AbortSignal.any([hooks.signal, hooks.detach]),
      onChunk: (chunk) => hooks.onOutput('stdout', chunk),
      containerStopped: async () => {
        // The follow ends as the container exits, often a moment before the watch says so.
        let timer: NodeJS.Timeout | undefined;
        const wait = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
        await Promise.race([stopped().then(() => undefined, () => undefined), wait]);
        clearTimeout(timer);
        return podState(watch.latest).kind === 'terminated' || watch.gone;
      },
    });
    // Output that cannot be forwarded fails the attempt, leaving the pod running: the retry
    // re-attaches and resumes the log where it stopped.
    const forwardingFailed = logsDone.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => Promise.reject(coerceError(err)),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = run.step.timeoutSeconds;
    const timedOut =
      timeout === undefined
        ? new Promise<never>(() => undefined)
        : new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, Date.parse(started.startedAt) + timeout * 1000 - Date.now()))));
    try {
      const first = await Promise.race([stopped(), aborted, timedOut, forwardingFailed]);
      if (first === 'aborted') {
        await deletePod(name, KILL_GRACE_SECONDS);
        throw new StepAbortedError(name);
      }
      if (first === 'detached') {
        // Everything forwarded so far is published; the next attempt resumes after it.
        await logsDone.catch(() => undefined);
        throw new StepDetachedError(name);
      }
      if (first === 'timeout') {
        await deletePod(name, KILL_GRACE_SECONDS);
        // What the step wrote until then, as far as it gets out in time.
        await Promise.race([logsDone.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
        return { containerId: name, exitCode: 137, startedAt: started.startedAt, finishedAt: new Date().toISOString(), oomKilled: false, timedOut: true };
      }
      await logsDone;
      return {
        containerId: name,
        exitCode: first.exitCode,
        startedAt: first.startedAt,
        finishedAt: first.finishedAt,
        oomKilled: first.reason === 'OOMKilled',
        timedOut: false,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async function cleanupJob(jobId: string): Promise<void> {
    if (!options.cleanup) return;
    const labelSelector = jobSelector(jobId);
    await core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: KILL_GRACE_SECONDS });
    await client.networking.deleteCollectionNamespacedNetworkPolicy({ namespace, labelSelector });
    try {
      await core.deleteNamespacedPersistentVolumeClaim({ namespace, name: claimName(jobId) });
    } catch (err) {
      if (kubeStatusOf(err) !== 404) throw err;
    }
    // A job shown as ended holds nothing: wait until the API server has let go of all of it.
    const deadline = Date.now() + CLEANUP_WAIT_MS;
    for (;;) {
      const [pods, claims] = await Promise.all([
        core.listNamespacedPod({ namespace, labelSelector }),
        core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
      ]);
      if (pods.items.length === 0 && claims.items.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`job ${jobId}: ${pods.items.length} pod(s) and ${claims.items.length} claim(s) still there ${CLEANUP_WAIT_MS / 1000} s after deletion`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Every job with a pod, claim or network policy in the namespace, and when the oldest was made. */
  async function leftovers(): Promise<Map<string, number>> {
    const labelSelector = `${labels.managed}=true`;
    const [pods, claims, policies] = await Promise.all([
      core.listNamespacedPod({ namespace, labelSelector }),
      core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
      client.networking.listNamespacedNetworkPolicy({ namespace, labelSelector }),
    ]);
    const found = new Map<string, number>();
    for (const { metadata } of [...pods.items, ...claims.items, ...policies.items]) {
      // The label holds a label-safe key; the annotation the job id itself.
      const job = metadata?.annotations?.[jobIdAnnotation];
      if (!job) continue;
      const created = metadata?.creationTimestamp ? new Date(metadata.creationTimestamp).getTime() : Date.now();
      found.set(job, Math.min(found.get(job) ?? created, Number.isFinite(created) ? created : Date.now()));
    }
    return found;
  }

  return { kind: 'kubernetes', runStep, cleanupJob, leftovers };
}
