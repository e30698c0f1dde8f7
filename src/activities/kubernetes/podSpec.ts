import type { V1NetworkPolicy, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { cappedLimits } from '../../job';
import type { StepCaps, StepSpec } from '../../job';
import type { StepRun } from '../executor';
import { labels } from '../labels';
import type { PullPolicy } from '../docker/images';
import { claimName, isolatedLabel, isolationPolicyName, jobIdAnnotation, jobKey, podName } from './names';

export interface PodDefaults extends StepCaps {
  /** The command a script is handed to, like Hades's DOCKER_SCRIPT_EXECUTOR (`/bin/sh -c`). */
  scriptExecutor: string[];
  pullPolicy: PullPolicy;
  /** What the scheduler reserves for a step (never more than its limit). */
  cpuRequest: number;
  memoryRequestBytes: number;
  runAsUser?: number;
  runAsGroup?: number;
  /** Refuse images that would run as root (the pod then fails with CreateContainerConfigError). */
  runAsNonRoot: boolean;
  /** Capabilities added back after dropping all (empty: none). */
  capabilities: string[];
  /** A RuntimeClass whose pods get no network interface but `lo`, for `network: none`. */
  networklessRuntimeClass?: string;
  storageClass?: string;
  volumeBytes: number;
}

export const stepContainer = 'step';
export const sharedDir = '/shared';
const sharedVolume = 'shared';

/** Networks a step may name on Kubernetes: a pod has the cluster's network, the host's or none. */
export const kubernetesNetworks = ['none', 'bridge', 'default', 'host'] as const;

export function jobLabels(jobId: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'hades', [labels.managed]: 'true', [labels.job]: jobKey(jobId) };
}

/** The label selector for everything of one job. */
export function jobSelector(jobId: string): string {
  return `${labels.job}=${jobKey(jobId)}`;
}

/** Step options a pod cannot honour: said in the step's log, never dropped silently. */
export function unsupportedLimits(step: StepSpec): string[] {
  const notes: string[] = [];
  if (step.memorySwapBytes !== undefined) notes.push('memory_swap is not supported on Kubernetes (no per-pod swap limit): ignored');
  if (step.pidsLimit !== undefined) notes.push('pids_limit is not supported per pod on Kubernetes (the node\'s kubelet sets podPidsLimit): ignored');
  return notes;
}

/** The pod of one step: pure, so what a step gets is testable without a cluster. */
export function podSpec(run: StepRun, d: PodDefaults): V1Pod {
  const { step } = run;
  const { cpus, memoryBytes: memory } = cappedLimits(step, d);
  const limits: Record<string, string> = {};
  // Quantities in plain units: Hades's `2G` is 2×1024³ bytes, Kubernetes's `2G` is 2×10⁹.
  if (cpus !== undefined) limits.cpu = millicores(cpus);
  if (memory !== undefined) limits.memory = String(memory);
  const requests = {
    cpu: millicores(Math.min(d.cpuRequest, cpus ?? Infinity)),
    memory: String(Math.min(d.memoryRequestBytes, memory ?? Infinity)),
  };
  const isolated = step.network === 'none';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(run.jobId, step.index),
      labels: { ...jobLabels(run.jobId), [labels.step]: String(step.index), ...(isolated && { [isolatedLabel]: 'true' }) },
      annotations: { [jobIdAnnotation]: run.jobId, 'io.hades.step-id': step.id },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // Cancel and timeouts delete with a short grace; this bounds any other deletion.
      terminationGracePeriodSeconds: 5,
      ...(step.network === 'host' && { hostNetwork: true }),
      ...(isolated && d.networklessRuntimeClass !== undefined && { runtimeClassName: d.networklessRuntimeClass }),
      securityContext: {
        seccompProfile: { type: 'RuntimeDefault' },
        ...(d.runAsNonRoot && { runAsNonRoot: true }),
        ...(d.runAsUser !== undefined && { runAsUser: d.runAsUser }),
        ...(d.runAsGroup !== undefined && { runAsGroup: d.runAsGroup, fsGroup: d.runAsGroup }),
      },
      volumes: [{ name: sharedVolume, persistentVolumeClaim: { claimName: claimName(run.jobId) } }],
      containers: [
        {
          name: stepContainer,
          image: step.image,
          imagePullPolicy: d.pullPolicy === 'always' ? 'Always' : 'IfNotPresent',
          ...(step.script !== undefined && { command: [...d.scriptExecutor, step.script] }),
          env: Object.entries(run.env).map(([name, value]) => ({ name, value })),
          workingDir: sharedDir,
          volumeMounts: [{ name: sharedVolume, mountPath: sharedDir }],
          resources: { limits, requests },
          securityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ['ALL'], ...(d.capabilities.length > 0 && { add: d.capabilities }) },
          },
        },
      ],
    },
  };
}

/** The job's `/shared`: one claim, created before its first step, deleted after its last. */
export function claimSpec(jobId: string, d: Pick<PodDefaults, 'storageClass' | 'volumeBytes'>): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claimName(jobId), labels: jobLabels(jobId), annotations: { [jobIdAnnotation]: jobId } },
    spec: {
      // ReadWriteOnce: node-local provisioners refuse ReadWriteMany, and steps run one at a time.
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: String(d.volumeBytes) } },
      ...(d.storageClass !== undefined && { storageClassName: d.storageClass }),
    },
  };
}

/** Denies all traffic in and out of the job's `network: none` pods (where the network plugin enforces policy). */
export function isolationPolicySpec(jobId: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: isolationPolicyName(jobId), labels: jobLabels(jobId), annotations: { [jobIdAnnotation]: jobId } },
    spec: {
      podSelector: { matchLabels: { [labels.job]: jobKey(jobId), [isolatedLabel]: 'true' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    },
  };
}

function millicores(cores: number): string {
  return `${Math.max(1, Math.round(cores * 1000))}m`;
}
