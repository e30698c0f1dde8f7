import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import type { CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { coerceError } from '../../errors';

/** The few Kubernetes calls the executor makes: typed CRUD from client-node, raw streams for watch and logs. */
export interface KubeClient {
  core: CoreV1Api;
  networking: NetworkingV1Api;
  /** A long-lived GET (watch, follow): resolves with the 200 response, rejects with a KubeApiError otherwise. */
  stream(path: string, query: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage>;
}

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * A client over a kubeconfig file, or over the pod's own service account when none is given
 * (client-node's default loading: in-cluster credentials, then ~/.kube/config).
 */
export async function createKubeClient(kubeconfigPath?: string): Promise<KubeClient> {
  // client-node 1.x is an ES module: loaded on demand, so the Docker path never pays for it.
  const k8s = await import('@kubernetes/client-node');
  const kc: KubeConfig = new k8s.KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the Kubernetes configuration (KUBECONFIG)');
  return {
    core: kc.makeApiClient(k8s.CoreV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
    async stream(path, query, signal) {
      const url = new URL(cluster.server + path);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const options: https.RequestOptions = { method: 'GET' };
      await kc.applyToHTTPSOptions(options);
      const transport = url.protocol === 'https:' ? https : http;
      return new Promise<IncomingMessage>((resolve, reject) => {
        const req = transport.request(url, { ...options, signal }, (res) => {
          if (res.statusCode === 200) return resolve(res);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(coerceError(err)));
          res.on('end', () => reject(statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        });
        req.on('error', (err) => reject(coerceError(err)));
        req.end();
      });
    },
  };
}

/** The status code of a client-node ApiException or a KubeApiError. */
export function kubeStatusOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.statusCode;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number') return err.code;
  return undefined;
}

/** The API server's own words from an error (its Status object's message), else the error's. */
export function kubeMessageOf(err: unknown): string {
  const body = typeof err === 'object' && err !== null && 'body' in err ? err.body : undefined;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      return body;
    }
  }
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message;
  return coerceError(err).message;
}

function statusError(code: number, body: string): KubeApiError {
  try {
    const status = JSON.parse(body) as { message?: string; reason?: string };
    return new KubeApiError(code, status.message ?? `HTTP ${code}`, status.reason);
  } catch {
    return new KubeApiError(code, body.trim() || `HTTP ${code}`);
  }
}
