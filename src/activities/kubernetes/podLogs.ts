import type { KubeClient } from './kubeClient';

export interface FollowOptions {
  client: KubeClient;
  namespace: string;
  pod: string;
  container: string;
  signal: AbortSignal;
  onChunk(chunk: Buffer): Promise<void>;
  /** Asked when a follow ends: true once the container has stopped (so all output is through). */
  containerStopped(): Promise<boolean>;
}

/**
 * Forwards a container's output from its start until it stops. The kubelet ends a follow when
 * the container exits, and now and then earlier (log rotation, a proxy's timeout): then the log
 * is read again from its start and what was forwarded already is skipped.
 */
export async function followPodLogs(o: FollowOptions): Promise<void> {
  let forwarded = 0;
  const path = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/log`;
  for (;;) {
    const res = await o.client.stream(path, { container: o.container, follow: 'true' }, o.signal);
    let seen = 0;
    for await (const data of res as AsyncIterable<Buffer>) {
      const skip = Math.min(data.length, Math.max(0, forwarded - seen));
      seen += data.length;
      if (skip === data.length) continue;
      const chunk = skip > 0 ? data.subarray(skip) : data;
      await o.onChunk(chunk);
      forwarded += chunk.length;
    }
    if (await o.containerStopped()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
