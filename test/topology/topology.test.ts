import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import Docker from 'dockerode';
import { copyImages, startSecondDockerd } from '../../scripts/topology/dockerDaemon';
import type { SecondDockerd } from '../../scripts/topology/dockerDaemon';
import { startNatsCluster } from '../../scripts/topology/natsCluster';
import type { NatsCluster } from '../../scripts/topology/natsCluster';
import { startTemporalServer } from '../../scripts/topology/temporalServer';
import type { TemporalServer } from '../../scripts/topology/temporalServer';
import type { JobState } from '../../src/job';
import { assertNoLeaks, docker } from '../helpers/docker';
import { spawnHades } from '../helpers/hadesProcess';
import type { HadesProcess } from '../helpers/hadesProcess';
import { request } from '../helpers/http';
import { until } from '../helpers/nats';
import { isolatedEnv, uniqueSuffix } from '../helpers/stack';
import { images, testEnv } from '../helpers/testEnv';

// The multi-node topology users scale out with: a real Temporal server (go.temporal.io/server on
// PostgreSQL), a three-node NATS JetStream cluster with every Hades stream and bucket replicated
// three times, two APIs, two bridges and two workers, each worker on its own Docker daemon (jobs
// pinned to a host). Under a steady load of jobs: stop a NATS node, then a worker, then a bridge,
// then start them again. Every accepted job must end exactly once.

const JOB_STEPS = [
  { id: 1, name: 'one', image: images.busybox, script: 'echo 1 > /shared/trail' },
  { id: 2, name: 'two', image: images.busybox, script: 'echo 2 >> /shared/trail' },
  { id: 3, name: 'three', image: images.busybox, script: 'echo 3 >> /shared/trail; cat /shared/trail' },
];

interface Role {
  name: string;
  env: Record<string, string>;
  process: HadesProcess;
}

describe('a multi-node topology under load and faults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'htopo-'));
  // PostgreSQL runs as its own user, which must reach its data directory below this one.
  chmodSync(dir, 0o755);
  let temporal: TemporalServer | undefined;
  let nats: NatsCluster | undefined;
  let second: SecondDockerd | undefined;
  let connection: Connection | undefined;
  const roles: Role[] = [];
  const accepted: string[] = [];

  after(async () => {
    for (const r of roles) {
      r.process.kill('SIGTERM');
      await r.process.exited;
    }
    await connection?.close();
    await assertNoLeaks(accepted);
    if (second) await assertNoLeaks(accepted, new Docker({ socketPath: second.socketPath }));
    await second?.stop({ kill: true });
    await nats?.stop();
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ends every accepted job exactly once while a NATS node, a worker and a bridge stop and come back', async () => {
    const t0 = Date.now();
    [temporal, nats, second] = await Promise.all([
      startTemporalServer({ dir: join(dir, 't'), logDir: testEnv.runDir }),
      startNatsCluster({ dir: join(dir, 'n'), logDir: testEnv.runDir }),
      startSecondDockerd({ dir: join(dir, 'd'), logDir: testEnv.runDir, name: `topo-${process.pid}` }),
    ]);
    await copyImages(docker, new Docker({ socketPath: second.socketPath }), [images.busybox]);
    const infraMs = Date.now() - t0;
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });

    const suffix = uniqueSuffix();
    const common: Record<string, string> = {
      ...isolatedEnv(suffix),
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      NATS_URL: nats.urls.join(','),
      NATS_REPLICAS: '3',
      PIN_JOBS_TO_HOST: 'true',
      HOST_CHECK_SECONDS: '5',
      HADES_WORKFLOW_BUNDLE: testEnv.workflowBundle,
      API_HOST: '127.0.0.1',
      CONCURRENCY: '2',
      SHUTDOWN_GRACE_SECONDS: '5',
    };
    const start = (name: string, env: Record<string, string>): Role => {
      const role = { name, env: { ...common, ...env }, process: spawnHades({ ...common, ...env }) };
      roles.push(role);
      return role;
    };
    const restart = (role: Role) => {
      role.process = spawnHades(role.env);
    };
    // The first one creates the streams and buckets, before the others race to.
    const api1 = start('api-1', { HADES_ROLES: 'api', API_PORT: '0' });
    const port1 = Number((await api1.process.logged('api listening', 120_000)).port);
    const api2 = start('api-2', { HADES_ROLES: 'api', API_PORT: '0' });
    const bridge1 = start('bridge-1', { HADES_ROLES: 'bridge' });
    start('bridge-2', { HADES_ROLES: 'bridge' });
    const workerA = start('worker-a', { HADES_ROLES: 'worker', HADES_HOST_ID: 'host-a' });
    start('worker-b', { HADES_ROLES: 'worker', HADES_HOST_ID: 'host-b', DOCKER_HOST: second.host });
    const port2 = Number((await api2.process.logged('api listening', 120_000)).port);
    for (const r of roles.filter((r) => r.name.startsWith('bridge'))) await r.process.logged('bridge running', 120_000);
    for (const r of roles.filter((r) => r.name.startsWith('worker'))) await r.process.logged('worker running', 120_000);
    const apis = [`http://127.0.0.1:${port1}`, `http://127.0.0.1:${port2}`];

    // A steady load: a job every 300 ms, to the two APIs in turn. Only a 200 counts as accepted.
    let loading = true;
    let refusals = 0;
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const api = apis[i % apis.length] ?? '';
        try {
          const res = await request<{ job_id: string }>(`${api}/build`, { method: 'POST', json: { name: `load ${i}`, steps: JOB_STEPS } });
          if (res.status === 200) accepted.push(res.body.job_id);
          else refusals++;
        } catch {
          refusals++;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    const ended = new Map<string, JobState>();
    const endedCount = async () => {
      for (const id of accepted) {
        if (ended.has(id)) continue;
        const res = await request<JobState>(`${apis[1]}/jobs/${id}`).catch(() => undefined);
        if (res?.status === 200 && ['Succeeded', 'Failed', 'Cancelled', 'TimedOut'].includes(res.body.status)) ended.set(id, res.body);
      }
      return ended.size;
    };
    const progress = async (what: string, more: number) => {
      const target = (await endedCount()) + more;
      await until(`${more} more jobs to end ${what}`, async () => (await endedCount()) >= target, 180_000, 500);
    };
    const phases: { phase: string; ms: number }[] = [];
    const phase = async (name: string, act: () => Promise<void>, more = 5) => {
      const began = Date.now();
      await act();
      await progress(name, more);
      phases.push({ phase: name, ms: Date.now() - began });
    };

    const n2 = nats.nodes[1];
    assert.ok(n2);
    await phase('all up', async () => undefined);
    await phase('with a NATS node stopped', () => n2.stop());
    await phase('with worker-a killed too', async () => {
      workerA.process.kill('SIGKILL');
      await workerA.process.exited;
    });
    await phase('with bridge-1 killed too', async () => {
      bridge1.process.kill('SIGKILL');
      await bridge1.process.exited;
    });
    await phase('after all came back', async () => {
      await n2.start();
      restart(workerA);
      restart(bridge1);
    }, 10);
    loading = false;
    await load;

    const drainBegan = Date.now();
    await until('every accepted job to end', async () => (await endedCount()) === accepted.length, 240_000, 1000);
    phases.push({ phase: 'drain', ms: Date.now() - drainBegan });

    // Exactly once: one workflow run per job, each step once (the trail has each line once), all
    // steps of a job on one host, and both hosts used.
    const hostQueues = new Set<string>();
    for (const id of accepted) {
      const job = ended.get(id);
      assert.equal(job?.status, 'Succeeded', JSON.stringify(job));
      assert.equal(job.steps[2]?.outputTail, '1\n2\n3\n', `job ${id} ran each step once, on one volume`);
      const runs = await client.workflow.count(`WorkflowId = '${id}'`);
      assert.equal(runs.count, 1, `job ${id} has one workflow run`);
      const history = await client.workflow.getHandle(id).fetchHistory();
      const queues = new Set(
        (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStep' ? [e.activityTaskScheduledEventAttributes.taskQueue?.name ?? '?'] : [])),
      );
      assert.equal(queues.size, 1, `job ${id}: steps on ${[...queues].join(', ')}`);
      hostQueues.add([...queues][0] ?? '');
    }
    assert.equal(hostQueues.size, 2, `jobs ran on both hosts: ${[...hostQueues].join(', ')}`);
    for (const r of roles) assert.equal(r.process.child.exitCode, null, `${r.name} is still running:\n${r.process.output().slice(-2000)}`);

    const figures = {
      infrastructureStartMs: infraMs,
      accepted: accepted.length,
      refused: refusals,
      totalMs: Date.now() - t0,
      phases,
    };
    console.log(`[topology] ${JSON.stringify(figures)}`);
    writeFileSync(join(testEnv.runDir, 'topology-figures.json'), JSON.stringify(figures, null, 2));
  });
});
