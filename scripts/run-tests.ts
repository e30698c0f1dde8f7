// `npm test` after set-up: starts Temporal, NATS and a Docker registry on free ports, bundles the
// workflow code once, runs every test file with node's test runner, and stops everything.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startKubeCluster } from './kubernetes/cluster';
import { freePorts, killOnExit, tracked, projectRoot, startNats, startRegistry, startTemporal } from './services';
import type { Service } from './services';

function allTestFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...allTestFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

/**
 * Arguments: path filters (a file runs when its path contains one of them; none: every file),
 * `--skip=REGEX` and `--only=REGEX`
 * over the path relative to the project (scripts/test.sh runs the Kubernetes and Compose tests
 * last, once their background set-up is done), `--list` prints the files and runs nothing,
 * `--run-dir=NAME` keeps servers' logs in .hades/NAME (default test-run).
 */
function selectFiles(args: string[]): { files: string[]; narrowed: boolean; list: boolean } {
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const filter = args.filter((a) => !a.startsWith('--'));
  const skip = option('skip');
  const only = option('only');
  let files = allTestFiles(join(projectRoot, 'test')).filter((f) => filter.length === 0 || filter.some((s) => relative(projectRoot, f).includes(s)));
  if (files.length === 0) throw new Error(`no test files match ${filter.join(' ')}`);
  if (skip !== undefined) files = files.filter((f) => !new RegExp(skip).test(relative(projectRoot, f)));
  if (only !== undefined) files = files.filter((f) => new RegExp(only).test(relative(projectRoot, f)));
  return { files, narrowed: skip !== undefined || only !== undefined, list: args.includes('--list') };
}

async function main(): Promise<number> {
  const { files, narrowed, list } = selectFiles(process.argv.slice(2));
  if (list) {
    for (const f of files) console.log(relative(projectRoot, f));
    return 0;
  }
  if (files.length === 0) {
    if (narrowed) return 0;
    throw new Error('no test files to run');
  }
  // Its own directory per run: scripts/test.sh runs twice, and the second keeps the first's logs.
  const runDirName = process.argv.find((a) => a.startsWith('--run-dir='))?.slice('--run-dir='.length) || 'test-run';
  if (!/^[A-Za-z0-9_-]+$/.test(runDirName)) throw new Error(`--run-dir must be a plain name (letters, digits, _ -), not ${JSON.stringify(runDirName)}`);
  const runDir = join(projectRoot, '.hades', runDirName);
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
    const clusterFile = (f: string) => /^test\/integration\/.*(kubernetes|k8s)/i.test(relative(projectRoot, f));
    const needsCluster = files.some(clusterFile);
    const [temporal, nats, registry, bundle, startedCluster] = await Promise.all([
      tracked(services, startTemporal({ port: temporalPort, uiPort, httpPort, metricsPort, logDir: runDir })),
      tracked(services, startNats({ port: natsPort, storeDir: join(runDir, 'nats'), logDir: runDir })),
      tracked(services, startRegistry({ port: registryPort, dataDir: join(runDir, 'registry'), logDir: runDir })),
      bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: quietLogger }),
      needsCluster ? tracked(services, startKubeCluster({ dir: join(runDir, 'kube'), logDir: runDir })) : undefined,
    ]);
    let cluster = startedCluster;
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
    // The topology and chaos tests bring up servers of their own and load the machine: each
    // runs alone, after the others.
    const alone = (f: string) => /^test\/(topology|chaos)\//.test(relative(projectRoot, f));
    let code = 0;
    for (const [batch, parallel] of [
      [files.filter((f) => !alone(f)), concurrency],
      [files.filter(alone), '1'],
    ] as const) {
      if (batch.length === 0) continue;
      // The cluster (some 700 MB and a core's worth of control loops) goes once no file left needs it.
      if (cluster && !batch.some(clusterFile)) {
        await cluster.stop();
        services.splice(services.indexOf(cluster), 1);
        cluster = undefined;
      }
      // --expose-gc: memory tests measure live heap, not garbage the collector has not reached yet.
      // No test may take more than 10 minutes, and a file whose tests are done exits even if
      // something (an unread Docker stream, say) still holds it open: a stuck test fails, it
      // does not stall the run until CI's time is up.
      const args = ['--expose-gc', '--import', 'tsx', '--test', `--test-concurrency=${parallel}`, '--test-timeout=600000', '--test-force-exit', '--test-reporter=spec', ...batch.map((f) => relative(projectRoot, f))];
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
