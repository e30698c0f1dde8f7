import assert from 'node:assert/strict';
import type { KubeClient } from '../../src/activities/kubernetes/kubeClient';
import { createKubeClient, kubeStatusOf } from '../../src/activities/kubernetes/kubeClient';
import { jobKey, podName } from '../../src/activities/kubernetes/names';
import { labels } from '../../src/activities/labels';
import type { ExecutorTarget } from './executorTarget';
import { uniqueSuffix } from './stack';
import { images, testEnv } from './testEnv';

let client: Promise<KubeClient> | undefined;
/** One client over the test cluster's kubeconfig for the whole test file. */
export function kube(): Promise<KubeClient> {
  client ??= createKubeClient(testEnv.kubeconfig);
  return client;
}

const probeNamespace = 'hades-test-probe';

async function ensureNamespace(k: KubeClient, name: string): Promise<void> {
  try {
    await k.core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (kubeStatusOf(err) !== 409) throw err;
  }
}

export function kubernetesTarget(namespace = testEnv.kubeNamespace): ExecutorTarget {
  return {
    name: 'kubernetes',
    overrides: () => ({ HADES_EXECUTOR: 'kubernetes', KUBECONFIG: testEnv.kubeconfig, K8S_NAMESPACE: namespace }),

    async assertNoLeaks(jobIds) {
      const k = await kube();
      const keys = new Set(jobIds.map(jobKey));
      const ofJobs = <T extends { metadata?: { name?: string; labels?: Record<string, string> } }>(items: T[]) =>
        items.filter((i) => keys.has(i.metadata?.labels?.[labels.job] ?? '')).map((i) => i.metadata?.name);
      const selector = { namespace, labelSelector: labels.managed };
      const [pods, claims, policies] = await Promise.all([
        k.core.listNamespacedPod(selector),
        k.core.listNamespacedPersistentVolumeClaim(selector),
        k.networking.listNamespacedNetworkPolicy(selector),
      ]);
      assert.deepEqual(
        { pods: ofJobs(pods.items), claims: ofJobs(claims.items), policies: ofJobs(policies.items) },
        { pods: [], claims: [], policies: [] },
        'a job left pods, claims or network policies behind',
      );
    },

    async runningStep(jobId, stepIndex, timeoutMs = 60_000) {
      const k = await kube();
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        try {
          const pod = await k.core.readNamespacedPod({ namespace, name: podName(jobId, stepIndex) });
          const running = pod.status?.containerStatuses?.[0]?.state?.running;
          if (running?.startedAt && pod.metadata?.uid) return { id: pod.metadata.uid, startedAt: new Date(running.startedAt).toISOString() };
        } catch (err) {
          if (kubeStatusOf(err) !== 404) throw err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`step ${stepIndex} of job ${jobId} never ran`);
    },

    async startProbeServer() {
      const k = await kube();
      await ensureNamespace(k, probeNamespace);
      const name = `probe-${uniqueSuffix()}`;
      await k.core.createNamespacedPod({
        namespace: probeNamespace,
        body: {
          metadata: { name },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 0,
            containers: [
              {
                name: 'httpd',
                image: images.busybox,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '-c', 'mkdir -p /www && echo probe-ok > /www/index.html && exec httpd -f -p 8080 -h /www'],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      });
      const stop = async () => {
        await k.core.deleteNamespacedPod({ namespace: probeNamespace, name, gracePeriodSeconds: 0 }).catch(() => undefined);
      };
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const pod = await k.core.readNamespacedPod({ namespace: probeNamespace, name });
        const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (ready && pod.status?.podIP) return { url: `http://${pod.status.podIP}:8080/`, stop };
        await new Promise((r) => setTimeout(r, 200));
      }
      await stop();
      throw new Error('the probe pod never became ready');
    },
  };
}
