import { createInterface } from 'node:readline';
import type { V1Pod } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { coerceError } from '../../errors';
import type { KubeClient } from './kubeClient';
import { kubeStatusOf } from './kubeClient';

/**
 * Follows one pod through a watch on its name: `latest` is its newest version, `changed()`
 * resolves at the next one. A watch the server ends is re-opened from the last version seen;
 * one whose version expired (410) re-reads the pod first. A pod deleted by anyone else leaves
 * `gone` set; a connection that keeps failing leaves `error` set (infrastructure: retried).
 */
export class PodWatch {
  latest: V1Pod;
  gone = false;
  error: Error | undefined;
  private waiters: (() => void)[] = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
    initial: V1Pod,
  ) {
    this.latest = initial;
    void this.run();
  }

  /** Resolves when the pod changes, is deleted, or the watch fails. */
  changed(): Promise<void> {
    if (this.gone || this.error || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  close(): void {
    this.abort.abort();
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async run(): Promise<void> {
    let version = this.latest.metadata?.resourceVersion ?? '';
    let failures = 0;
    while (!this.abort.signal.aborted && !this.gone) {
      try {
        if (!version) version = await this.reread();
        const res = await this.client.stream(
          `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`,
          { watch: 'true', fieldSelector: `metadata.name=${this.name}`, resourceVersion: version, allowWatchBookmarks: 'true', timeoutSeconds: '240' },
          this.abort.signal,
        );
        failures = 0;
        for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
          if (!line) continue;
          const event = JSON.parse(line) as { type: string; object: V1Pod & { code?: number } };
          const next = event.object.metadata?.resourceVersion;
          if (event.type === 'ERROR') {
            // 410 Gone: our version is too old to resume from; read the pod afresh.
            version = '';
            break;
          }
          if (next) version = next;
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'DELETED') this.gone = true;
          else this.latest = event.object;
          this.notify();
        }
      } catch (err) {
        if (this.abort.signal.aborted) break;
        if (kubeStatusOf(err) === 404) {
          this.gone = true;
        } else if (++failures >= 5) {
          this.error = coerceError(err);
        } else {
          version = '';
          await new Promise((r) => setTimeout(r, 200 * 2 ** failures));
        }
        this.notify();
        if (this.error) return;
      }
    }
  }

  private async reread(): Promise<string> {
    this.latest = await this.client.core.readNamespacedPod({ namespace: this.namespace, name: this.name });
    this.notify();
    return this.latest.metadata?.resourceVersion ?? '';
  }
}
