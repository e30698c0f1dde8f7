import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { it } from 'node:test';
import { Connection } from '@temporalio/client';
import { freePorts, startTemporal } from '../../scripts/services';
import { uniqueSuffix } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

// The dev server binds ports it picked itself a moment earlier; on a busy machine another process
// may take one in between, and it exits "address already in use" (seen in CI: its history
// service's port). startTemporal starts it again on new ports instead of failing the test run.

it('starts the Temporal dev server again when a port it was to bind is taken, and it comes up', { timeout: 120_000 }, async () => {
  const holder = createServer();
  const [taken] = await freePorts(1);
  await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', resolve));
  const picked: [number, number][] = [];
  const logDir = join(testEnv.runDir, `temporal-start-${uniqueSuffix()}`);
  const [port] = await freePorts(1);
  try {
    const temporal = await startTemporal({
      port,
      logDir,
      // First the metrics port another process holds, then free ones.
      pickPorts: async () => {
        const [http, free] = await freePorts(2);
        const ports: [number, number] = picked.length === 0 ? [http, taken] : [http, free];
        picked.push(ports);
        return ports;
      },
    });
    try {
      assert.equal(picked.length, 2, 'started twice: the first attempt met the taken port');
      assert.match(readFileSync(join(logDir, 'temporal.log'), 'utf8'), new RegExp(`${taken}.*address already in use|address already in use.*${taken}`));
      const connection = await Connection.connect({ address: temporal.address });
      try {
        const { namespaces } = await connection.workflowService.listNamespaces({});
        assert.ok(namespaces.some((n) => n.namespaceInfo?.name === 'default'));
      } finally {
        await connection.close();
      }
    } finally {
      await temporal.stop();
    }
  } finally {
    holder.close();
  }
});
