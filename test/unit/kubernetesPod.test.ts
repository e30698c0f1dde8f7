import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type { StepRun } from '../../src/activities/executor';
import { claimName, jobKey, podName } from '../../src/activities/kubernetes/names';
import type { PodDefaults } from '../../src/activities/kubernetes/podSpec';
import { claimSpec, isolationPolicySpec, podSpec, unsupportedLimits } from '../../src/activities/kubernetes/podSpec';
import { podState } from '../../src/activities/kubernetes/podState';

const defaults: PodDefaults = {
  scriptExecutor: ['/bin/sh', '-c'],
  pullPolicy: 'if-not-present',
  cpuRequest: 0.1,
  memoryRequestBytes: 64 * 1024 ** 2,
  runAsNonRoot: false,
  capabilities: ['CHOWN'],
  volumeBytes: 1024 ** 3,
};
const jobId = '0b6f4a55-2f0c-4b8e-9d0e-5a6c1c1f0a11';

function run(step: Partial<StepRun['step']> = {}): StepRun {
  return {
    jobId,
    env: { A: '1', UUID: jobId },
    pullTimeoutSeconds: 60,
    step: { index: 0, id: '1', name: 's', image: 'busybox:1', continueOnError: false, metadata: {}, script: 'echo hi', ...step },
  };
}

describe('Kubernetes names', () => {
  it('use a UUID job id as it is, and a prefix and hash for ids no name may hold', () => {
    assert.equal(jobKey(jobId), jobId);
    assert.equal(podName(jobId, 2), `hades-${jobId}-step2`);
    assert.equal(claimName(jobId), `hades-${jobId}`);
    const odd = jobKey('My_Job.ID');
    assert.match(odd, /^my-job-id-[0-9a-f]{12}$/);
    assert.notEqual(jobKey('My_Job.ID'), jobKey('my-job-id'), 'ids that differ keep different names');
    const long = jobKey('x'.repeat(128));
    assert.ok(long.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(long), long);
  });
});

describe('podSpec', () => {
  it('runs the script through the script executor in /shared, with the env, hardened, never restarted', () => {
    const pod = podSpec(run(), defaults);
    const c = pod.spec?.containers[0];
    assert.equal(pod.metadata?.name, `hades-${jobId}-step0`);
    assert.equal(pod.spec?.restartPolicy, 'Never');
    assert.equal(pod.spec?.automountServiceAccountToken, false);
    assert.equal(pod.spec?.enableServiceLinks, false);
    assert.deepEqual(pod.spec?.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
    assert.deepEqual(c?.command, ['/bin/sh', '-c', 'echo hi']);
    assert.equal(c?.args, undefined);
    assert.equal(c?.workingDir, '/shared');
    assert.deepEqual(c?.env, [
      { name: 'A', value: '1' },
      { name: 'UUID', value: jobId },
    ]);
    assert.equal(c?.imagePullPolicy, 'IfNotPresent');
    assert.equal(c?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c?.securityContext?.capabilities, { drop: ['ALL'], add: ['CHOWN'] });
    assert.deepEqual(pod.spec?.volumes?.[0]?.persistentVolumeClaim, { claimName: `hades-${jobId}` });
    assert.deepEqual(pod.metadata?.labels, {
      'app.kubernetes.io/managed-by': 'hades',
      'io.hades.managed': 'true',
      'io.hades.job': jobId,
      'io.hades.step': '0',
    });
  });

  it("keeps the image's entrypoint when there is no script, and honours pull policy always", () => {
    const c = podSpec(run({ script: undefined }), { ...defaults, pullPolicy: 'always' }).spec?.containers[0];
    assert.equal(c?.command, undefined);
    assert.equal(c?.imagePullPolicy, 'Always');
  });

  it('writes limits in plain units (Hades 2G = 2×1024³ bytes), requests no more than the limit, caps by the global limits', () => {
    const limited = podSpec(run({ cpuLimit: 0.5, memoryBytes: 2 * 1024 ** 3 }), defaults).spec?.containers[0]?.resources;
    assert.deepEqual(limited, { limits: { cpu: '500m', memory: String(2 * 1024 ** 3) }, requests: { cpu: '100m', memory: String(64 * 1024 ** 2) } });
    const tiny = podSpec(run({ cpuLimit: 0.05, memoryBytes: 32 * 1024 ** 2 }), defaults).spec?.containers[0]?.resources;
    assert.deepEqual(tiny?.requests, { cpu: '50m', memory: String(32 * 1024 ** 2) });
    const capped = podSpec(run({ cpuLimit: 4 }), { ...defaults, maxCpus: 1, maxMemoryBytes: 96 * 1024 ** 2 }).spec?.containers[0]?.resources;
    assert.deepEqual(capped?.limits, { cpu: '1000m', memory: String(96 * 1024 ** 2) });
  });

  it('labels network-less pods for the deny-all policy and uses the network-less RuntimeClass when one is named', () => {
    const plain = podSpec(run({ network: 'none' }), defaults);
    assert.equal(plain.metadata?.labels?.['io.hades.network-none'], 'true');
    assert.equal(plain.spec?.runtimeClassName, undefined);
    const isolated = podSpec(run({ network: 'none' }), { ...defaults, networklessRuntimeClass: 'no-network' });
    assert.equal(isolated.spec?.runtimeClassName, 'no-network');
    const policy = isolationPolicySpec(jobId);
    assert.deepEqual(policy.spec?.podSelector?.matchLabels, { 'io.hades.job': jobId, 'io.hades.network-none': 'true' });
    assert.deepEqual(policy.spec?.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual([policy.spec?.ingress, policy.spec?.egress], [[], []]);
    assert.equal(podSpec(run({ network: 'host' }), defaults).spec?.hostNetwork, true);
    assert.equal(podSpec(run({ network: 'bridge' }), defaults).spec?.hostNetwork, undefined);
  });

  it('runs as the configured user and group, and may refuse root images', () => {
    const ctx = podSpec(run(), { ...defaults, runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true }).spec?.securityContext;
    assert.deepEqual(ctx, { seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
  });

  it('claims /shared read-write-once, in the configured class and size', () => {
    const claim = claimSpec(jobId, { storageClass: 'local-path', volumeBytes: 5 * 1024 ** 3 });
    assert.deepEqual(claim.spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: String(5 * 1024 ** 3) } }, storageClassName: 'local-path' });
    assert.equal(claimSpec(jobId, { volumeBytes: 1 }).spec?.storageClassName, undefined, 'no class: the cluster default');
  });

  it('names the limits a pod cannot honour', () => {
    assert.deepEqual(unsupportedLimits(run().step), []);
    const notes = unsupportedLimits(run({ memorySwapBytes: 1, pidsLimit: 10 }).step);
    assert.equal(notes.length, 2);
    assert.match(notes[0] ?? '', /memory_swap/);
    assert.match(notes[1] ?? '', /pids_limit/);
  });
});

describe('podState', () => {
  const base: V1Pod = { metadata: { name: 'p', creationTimestamp: new Date('2026-01-01T00:00:00Z') } };
  const withContainer = (state: object, phase = 'Running'): V1Pod => ({
    ...base,
    status: { phase, containerStatuses: [{ name: 'step', image: 'i', imageID: '', ready: false, restartCount: 0, state }] },
  });

  it('reads a terminated container: exit code, reason, times', () => {
    const state = podState(withContainer({ terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2026-01-01T00:00:01Z', finishedAt: '2026-01-01T00:00:03Z' } }, 'Failed'));
    assert.deepEqual(state, { kind: 'terminated', exitCode: 137, reason: 'OOMKilled', startedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:03.000Z' });
  });

  it('reads a running container', () => {
    assert.deepEqual(podState(withContainer({ running: { startedAt: new Date('2026-01-01T00:00:02Z') } })), { kind: 'running', startedAt: '2026-01-01T00:00:02.000Z' });
  });

  it('gives up at once on waiting reasons that never pass', () => {
    for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError']) {
      const state = podState(withContainer({ waiting: { reason, message: 'why' } }, 'Pending'));
      assert.deepEqual(state, { kind: 'cannot-start', reason, message: 'why' });
    }
    assert.equal(podState(withContainer({ waiting: { reason: 'ContainerCreating' } }, 'Pending')).kind, 'pending');
  });

  it('tells an unschedulable pod, and a pod that ended without its container', () => {
    const unschedulable = podState({ ...base, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] } });
    assert.deepEqual(unschedulable, { kind: 'pending', since: Date.parse('2026-01-01T00:00:00Z'), unschedulable: '0/1 nodes are available: 1 Insufficient cpu.' });
    const evicted = podState({ ...base, status: { phase: 'Failed', reason: 'Evicted', message: 'low on disk' } });
    assert.deepEqual(evicted, { kind: 'lost', reason: 'Evicted', message: 'low on disk' });
  });
});
