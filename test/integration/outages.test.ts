import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, startNats, startTemporal } from '../../scripts/services';
import type { Service } from '../../scripts/services';
import { assertNoLeaks } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import { consumerState } from '../helpers/nats';
import type { TestStack } from '../helpers/stack';
import { startTestStack } from '../helpers/stack';
import { images } from '../helpers/testEnv';

const job = (name: string) => ({ name, steps: [{ id: 1, name: 'hi', image: images.busybox, script: 'echo ran' }] });

/** Kills a server as a crash would: SIGKILL to its process group. */
function crash(service: Service & { pid?: number }): Promise<void> {
  if (service.pid) process.kill(-service.pid, 'SIGKILL');
  return new Promise((r) => setTimeout(r, 300));
}

describe('nats-server restarted while jobs are queued', () => {
  it('loses none of them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hades-nats-'));
    const port = await freePort();
    let nats = await startNats({ port, storeDir: join(dir, 'store'), logDir: dir });
    const stacks: TestStack[] = [];
    try {
      const api = await startTestStack({ HADES_ROLES: 'api', NATS_URL: nats.address });
      stacks.push(api);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await request<{ job_id: string }>(`${api.apiUrl}/build`, { method: 'POST', json: job(`queued ${i}`) })).body.job_id);
      assert.equal((await consumerState(api.config)).pending, 20);

      await crash(nats);
      nats = await startNats({ port, storeDir: join(dir, 'store'), logDir: dir });
      stacks.push(await startTestStack({ ...api.env, HADES_ROLES: 'bridge,worker', CONCURRENCY: '4' }));
      for (const id of ids) assert.equal((await waitForEnd(api.apiUrl, id, 120_000)).status, 'Succeeded', id);
      await assertNoLeaks(ids);
    } finally {
      for (const s of stacks.reverse()) await s.stop();
      await nats.stop();
    }
  });
});

describe('Temporal down for 20 seconds while jobs are published', () => {
  it('runs them all once it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hades-temporal-'));
    const port = await freePort();
    const options = { port, dbFile: join(dir, 'temporal.db'), logDir: dir };
    let temporal = await startTemporal(options);
    let stack: TestStack | undefined;
    try {
      stack = await startTestStack({ TEMPORAL_ADDRESS: temporal.address, BRIDGE_RETRY_MAX_SECONDS: '4' });
      await crash(temporal);
      const down = await request<{ error: { code: string } }>(`${stack.apiUrl}/jobs`);
      assert.deepEqual([down.status, down.body.error.code], [503, 'temporal_unavailable']);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res: { status: number; body: { job_id: string } } = await request<{ job_id: string }>(`${stack.apiUrl}/build`, { method: 'POST', json: job(`while down ${i}`) });
        assert.equal(res.status, 200, 'POST /build needs only NATS');
        ids.push(res.body.job_id);
      }
      await new Promise((r) => setTimeout(r, 20_000));
      temporal = await startTemporal(options);
      for (const id of ids) assert.equal((await waitForEnd(stack.apiUrl, id, 120_000)).status, 'Succeeded', id);
      await assertNoLeaks(ids);
    } finally {
      await stack?.stop();
      await temporal.stop();
    }
  });
});
