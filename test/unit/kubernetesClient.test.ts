import assert from 'node:assert/strict';
import { it } from 'node:test';

// client-node 2.x throws at import on Node 20 (its undici 8 needs Node 22); 1.4.x must load.
it('@kubernetes/client-node loads on this Node version', async () => {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false }, { name: 'u' });
  assert.equal(typeof kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod, 'function');
});
