// kubectl against a cluster, for tests and set-up: `kubectl(cluster.kubeconfig, ['get', 'pods'])`.
import { run } from './processes';
import { binaries } from './tools';

/** Runs kubectl with this kubeconfig and resolves to its stdout; rejects with its stderr. */
export function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const argv = ['--kubeconfig', kubeconfig, ...args];
  return run(binaries.kubectl, argv, input === undefined ? { timeoutMs: 120_000 } : { input, timeoutMs: 120_000 });
}
