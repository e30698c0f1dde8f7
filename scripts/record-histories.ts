// `npm run record-histories`: runs one passing and one failing job on a throw-away Temporal and
// NATS, and writes their workflow histories to test/replay/histories/ for the replay test.
// Re-record after a deliberate, versioned change to the workflow; never to make replay pass.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { parseConfig } from '../src/config';
import { runHades } from '../src/main/run';
import { freePorts, killOnExit, tracked, projectRoot, startNats, startTemporal } from './services';
import type { Service } from './services';

const image = process.env.HADES_TEST_BUSYBOX_IMAGE ?? 'hades-test/busybox:1';
const jobs = {
  succeeded: {
    id: '11111111-1111-4111-8111-111111111111',
    name: 'replay: passing job',
    metadata: { GLOBAL: 'test' },
    steps: [
      { id: 1, name: 'write', image, script: 'echo one > /shared/out.txt' },
      { id: 2, name: 'print', image, script: 'cat /shared/out.txt' },
    ],
  },
  failed: {
    id: '22222222-2222-4222-8222-222222222222',
    name: 'replay: failing job',
    steps: [
      { id: 1, name: 'fails', image, script: 'exit 3' },
      { id: 2, name: 'skipped', image, script: 'true' },
    ],
  },
};

async function main(): Promise<void> {
  const dir = join(projectRoot, '.hades', 'record');
  rmSync(dir, { recursive: true, force: true });
  const services: (Service & { pid?: number })[] = [];
  killOnExit(services);
  const [tPort, nPort] = await freePorts(2);
  await Promise.all([tracked(services, startTemporal({ port: tPort, logDir: dir })), tracked(services, startNats({ port: nPort, storeDir: join(dir, 'nats'), logDir: dir }))]);
  const config = parseConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${tPort}`, NATS_URL: `nats://127.0.0.1:${nPort}`, API_PORT: '0', API_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  const hades = await runHades(config);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  try {
    const outDir = join(projectRoot, 'test', 'replay', 'histories');
    mkdirSync(outDir, { recursive: true });
    for (const [name, job] of Object.entries(jobs)) {
      const res = await fetch(`http://127.0.0.1:${hades.apiPort}/build`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) });
      if (!res.ok) throw new Error(`submit ${name}: ${res.status} ${await res.text()}`);
      const handle = client.workflow.getHandle(job.id);
      for (let i = 0; i < 300; i++) {
        try {
          await handle.result();
          break;
        } catch (err) {
          if ((err as Error).name !== 'WorkflowNotFoundError') break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // The CLI's JSON export is the format replay (historyFromJSON) reads.
      const json = execFileSync(join(projectRoot, '.tools', 'venv', 'bin', 'temporal'), ['workflow', 'show', '--address', config.TEMPORAL_ADDRESS, '-w', job.id, '-o', 'json'], { encoding: 'utf8' });
      const history = JSON.parse(json) as { events: unknown[] };
      writeFileSync(join(outDir, `${name}.json`), JSON.stringify(history, null, 2) + '\n');
      console.log(`recorded ${name}: ${history.events.length} events`);
    }
  } finally {
    await hades.stop();
    await connection.close();
    await Promise.allSettled(services.map((s) => s.stop()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
