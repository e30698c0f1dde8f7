// `npm test` after set-up: starts Temporal, NATS and a Docker registry on free ports, bundles the
// workflow code once, runs every test file with node's test runner, and stops everything.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startKubeCluster } from './kubernetes/cluster';
import { freePorts, killOnExit, tracked, projectRoot, startNats, startRegistry, startTemporal } from './services';
import type { Service } from './services';

function testFiles(dir: string, filter: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path, filter));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out.filter((f) => filter.length === 0 || filter.some((s) => f.includes(s))).sort();
}

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  const files = testFiles(join(projectRoot, 'test'), filter);
  if (files.length === 0) throw new Error(`no test files match ${filter.join(' ')}`);
  const runDir = join(projectRoot, '.hades', 'test-run');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });

  const services: (Service & { pid?: number })[] = [];
  killOnExit(services);
  const stopAll = async () => {
    await Promise.allSettled(services.map((s) => s.stop()));
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

  try {
    const started = Date.now();
    const [temporalPort, uiPort, natsPort, registryPort, httpPort, metricsPort] = await freePorts(6);
    // The Kubernetes cluster only for test files that need it (a cold start takes seconds).
    const needsCluster = files.some((f) => /^test\/integration\/.*(kubernetes|k8s)/i.test(relative(projectRoot, f)));
    const [temporal, nats, registry, bundle, cluster] = await Promise.all([
      tracked(services, startTemporal({ port: temporalPort, uiPort, httpPort, metricsPort, logDir: runDir })),
      tracked(services, startNats({ port: natsPort, storeDir: join(runDir, 'nats'), logDir: runDir })),
      tracked(services, startRegistry({ port: registryPort, dataDir: join(runDir, 'registry'), logDir: runDir })),
      bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: quietLogger }),
      needsCluster ? tracked(services, startKubeCluster({ dir: join(runDir, 'kube'), logDir: runDir })) : undefined,
    ]);
    cluster?.allowRegistry(registry.address);
    const bundlePath = join(runDir, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);
    console.log(`[test] temporal ${temporal.address} (ui ${temporal.uiUrl ?? '-'}), nats ${nats.address}, registry ${registry.address}${cluster ? `, kubernetes ${cluster.address}` : ''}; ready in ${Date.now() - started} ms`);

    const env = {
      ...process.env,
      HADES_TEST_TEMPORAL_ADDRESS: temporal.address,
      HADES_TEST_TEMPORAL_UI: temporal.uiUrl ?? '',
      HADES_TEST_NATS_URL: nats.address,
      HADES_TEST_NATS_PORT: String(natsPort),
      HADES_TEST_NATS_STORE: join(runDir, 'nats'),
      HADES_TEST_REGISTRY: registry.address,
      HADES_TEST_WORKFLOW_BUNDLE: bundlePath,
      HADES_TEST_RUN_DIR: runDir,
      ...(cluster && { HADES_TEST_KUBECONFIG: cluster.kubeconfig, HADES_TEST_KUBE_NAMESPACE: cluster.namespace ?? 'hades-executor' }),
    };
    const concurrency = process.env.HADES_TEST_CONCURRENCY ?? '2';
    // The topology test brings up a cluster of its own: it runs alone, after the others.
    const alone = (f: string) => relative(projectRoot, f).startsWith('test/topology/');
    let code = 0;
    for (const [batch, parallel] of [
      [files.filter((f) => !alone(f)), concurrency],
      [files.filter(alone), '1'],
    ] as const) {
      if (batch.length === 0) continue;
      // --expose-gc: memory tests measure live heap, not garbage the collector has not reached yet.
      const args = ['--expose-gc', '--import', 'tsx', '--test', `--test-concurrency=${parallel}`, '--test-reporter=spec', ...batch.map((f) => relative(projectRoot, f))];
      const batchCode = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, args, { cwd: projectRoot, env, stdio: 'inherit' });
        child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      });
      code ||= batchCode;
    }
    return code;
  } finally {
    await stopAll();
  }
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('[test] failed:', err);
    process.exit(1);
  },
);
