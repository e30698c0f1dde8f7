import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { kubectl } from '../../scripts/kubernetes/cluster';
import { freePort } from '../../scripts/services';
import { podName } from '../../src/activities/kubernetes/names';
import { runCommand } from '../helpers/command';
import { sharedVolumeJob } from '../fixtures/examples';
import { docker } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { kubernetesTarget } from '../helpers/kubernetesTarget';
import { isolatedEnv, uniqueSuffix } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

// k8s/ as a user deploys it: the kustomize base with an overlay, the Hades image pulled from a
// registry, API, bridge and worker as Deployments, the worker running steps as pods through its
// own service account and Role. The overlay only says where this test run's Temporal and NATS
// are (host network: they listen on loopback) and keeps the run apart from other tests.

const root = join(__dirname, '..', '..');
const authKey = `k-${uniqueSuffix()}`;

/** Waits for a rollout (kubectl's own waits are capped below the wrapper's time limit). */
async function rolledOut(resource: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await kubectl(testEnv.kubeconfig, ['-n', 'hades', 'rollout', 'status', resource, '--timeout=100s']);
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        const pods = await kubectl(testEnv.kubeconfig, ['-n', 'hades', 'get', 'pods', '-o', 'wide']).catch(() => '');
        throw new Error(`${resource} not rolled out: ${(err as Error).message}\n${pods}`);
      }
    }
  }
}

/** A JSON patch that sets the hades-config values this run needs. */
function configPatch(values: Record<string, string>): string {
  return JSON.stringify(Object.entries(values).map(([k, v]) => ({ op: 'add', path: `/data/${k}`, value: v })));
}

/** Host network (the test servers are on loopback), one replica, exec probes on loopback. */
function deploymentPatch(role: string, env: Record<string, string> = {}): string {
  // `httpGet: null` removes the base's handler (a probe has exactly one).
  const probe = { httpGet: null, exec: { command: ['node', '/app/docker/healthcheck.mjs'] }, periodSeconds: 2 };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `hades-${role}`, namespace: 'hades' },
    spec: {
      replicas: 1,
      template: {
        spec: {
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          containers: [
            {
              name: role,
              imagePullPolicy: 'Always',
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
              ...(role === 'api' && { readinessProbe: probe, livenessProbe: probe }),
            },
          ],
        },
      },
    },
  });
}

describe('deploying Hades with k8s/', () => {
  const suffix = uniqueSuffix();
  const executorNamespace = `hades-deploy-${suffix}`;
  const target = kubernetesTarget(executorNamespace);
  // Inside the project: kustomize takes a base only by a relative path.
  const dir = join(testEnv.runDir, `k8s-deploy-${suffix}`);
  mkdirSync(dir, { recursive: true });
  const jobIds: string[] = [];
  let applied = false;

  after(async () => {
    if (applied) {
      // What a user does to remove it: everything the overlay made goes, step namespaces too.
      await kubectl(testEnv.kubeconfig, ['delete', '-k', dir, '--wait=true', '--timeout=120s', '--ignore-not-found']);
    }
    rmSync(dir, { recursive: true, force: true });
    await target.assertNoLeaks(jobIds);
  });

  it('runs a job through the in-cluster API, its steps as pods through the worker\'s own account', { timeout: 15 * 60_000 }, async () => {
    // The image, as the deployment issue's script builds it, pushed where the cluster pulls from.
    await runCommand('bash', ['scripts/build-hades-image.sh']);
    const remote = `${testEnv.registry}/hades-temporal:test-${suffix}`;
    await docker.getImage('hades-temporal:local').tag({ repo: `${testEnv.registry}/hades-temporal`, tag: `test-${suffix}` });
    await runCommand('docker', ['push', remote]);
    await docker.getImage(remote).remove();

    const apiPort = await freePort();
    const kubeApi = new URL((await kubectl(testEnv.kubeconfig, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim());
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(dir, join(root, 'k8s', 'base'))}`,
        'images:',
        `  - { name: hades-temporal, newName: ${testEnv.registry}/hades-temporal, newTag: test-${suffix} }`,
        'patches:',
        `  - target: { kind: Namespace, name: hades-executor }`,
        `    patch: '${JSON.stringify([{ op: 'replace', path: '/metadata/name', value: executorNamespace }])}'`,
        `  - target: { kind: Role, name: hades-executor }`,
        `    patch: '${JSON.stringify([{ op: 'replace', path: '/metadata/namespace', value: executorNamespace }])}'`,
        `  - target: { kind: RoleBinding, name: hades-worker }`,
        `    patch: '${JSON.stringify([{ op: 'replace', path: '/metadata/namespace', value: executorNamespace }])}'`,
        `  - target: { kind: ConfigMap, name: hades-config }`,
        `    patch: '${configPatch({
          ...isolatedEnv(suffix),
          K8S_NAMESPACE: executorNamespace,
          API_HOST: '127.0.0.1',
          API_PORT: String(apiPort),
          CONCURRENCY: '2',
        })}'`,
        `  - patch: '${deploymentPatch('api')}'`,
        `  - patch: '${deploymentPatch('bridge')}'`,
        // No kube-proxy in the test cluster: the in-cluster client reaches the API server on loopback.
        `  - patch: '${deploymentPatch('worker', { KUBERNETES_SERVICE_HOST: kubeApi.hostname, KUBERNETES_SERVICE_PORT: kubeApi.port })}'`,
        '',
      ].join('\n'),
    );
    await kubectl(testEnv.kubeconfig, ['create', 'namespace', 'hades']).catch((err: Error) => {
      if (!/AlreadyExists/.test(err.message)) throw err;
    });
    await kubectl(testEnv.kubeconfig, ['-n', 'hades', 'create', 'secret', 'generic', 'hades-secrets', `--from-literal=AUTH_KEY=${authKey}`]);
    applied = true;
    await kubectl(testEnv.kubeconfig, ['apply', '-k', dir]);
    // The first pull of the image (~470 MB) into the cluster can take minutes on a busy machine.
    for (const role of ['api', 'bridge', 'worker']) await rolledOut(`deployment/hades-${role}`, 10 * 60_000);

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const headers = { authorization: `Basic ${Buffer.from(`hades:${authKey}`).toString('base64')}` };
    assert.equal((await request(`${apiUrl}/build`, { method: 'POST', json: sharedVolumeJob() })).status, 401, 'the AUTH_KEY from the Secret guards the API');
    const res = await request<{ job_id: string }>(`${apiUrl}/build`, { method: 'POST', json: sharedVolumeJob(), headers });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    jobIds.push(res.body.job_id);
    const job = await waitForEnd(apiUrl, res.body.job_id, 180_000, headers);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.deepEqual(job.steps[2]?.outputTail?.trim().split('\n'), ['Hello from step 1', 'Hello from step 2', 'Hello from step 3']);
    // The steps were pods in the executor namespace: the logged container id is the pod's name
    // (only the third step writes output).
    const logs = await request<{ logs: { container_id: string }[] }>(`${apiUrl}/jobs/${res.body.job_id}/logs`, { headers });
    assert.deepEqual(logs.body.logs.map((l) => l.container_id), [podName(res.body.job_id, 2)]);
    await target.assertNoLeaks(jobIds);

    // The worker's account may touch nothing outside its namespace.
    const can = (verb: string, resource: string, namespace: string) =>
      kubectl(testEnv.kubeconfig, ['auth', 'can-i', verb, resource, '-n', namespace, '--as', 'system:serviceaccount:hades:hades-worker']).then(
        (out) => out.trim(),
        // kubectl says `no` on stdout and exits 1.
        (err: Error & { stdout?: string }) => (err.stdout?.trim() === 'no' ? 'no' : Promise.reject(err)),
      );
    assert.equal(await can('create', 'pods', executorNamespace), 'yes');
    assert.equal(await can('create', 'pods', 'hades'), 'no');
    assert.equal(await can('get', 'secrets', executorNamespace), 'no');
  });
});
