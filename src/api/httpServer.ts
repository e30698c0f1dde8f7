import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface ListeningApi {
  port: number;
  /**
   * Stops accepting connections, lets the requests in flight finish (up to `graceMs`, then cuts
   * them) and resolves once every connection is closed. Keep-alive connections close as soon as
   * their current response is sent.
   */
  close(graceMs: number): Promise<void>;
}

export async function listen(app: Express, port: number, host: string): Promise<ListeningApi> {
  const server: Server = await new Promise((resolve, reject) => {
    // Headers up to 64 KiB (Node's default is 16): a long query is answered by the API (400 for a
    // cursor over its limit), not cut off by Node with an empty 431.
    const s = createServer({ maxHeaderSize: 64 * 1024 }, app).listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  let closing = false;
  const open = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    open.add(res);
    // Its socket closes once it is answered, so no further request arrives on it.
    if (closing) res.shouldKeepAlive = false;
    // 'close' follows the answer (or the client's hang-up): one listener per request, not two.
    res.once('close', () => {
      open.delete(res);
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close(graceMs) {
      closing = true;
      for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([closed, graceOver]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
    },
  };
}
