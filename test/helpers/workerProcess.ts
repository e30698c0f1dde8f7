import { after } from 'node:test';
import { parseConfig } from '../../src/config';
import { runHades } from '../../src/main/run';
import type { Running } from '../../src/main/run';
import { spawnHades } from './hadesProcess';
import type { HadesProcess } from './hadesProcess';
import { startTestStack } from './stack';
import type { TestStack } from './stack';

/**
 * A test stack (api, bridge) with its worker in a process of its own, as production runs it,
 * started by `start`; a second worker in this process once the first is gone; all of it stopped,
 * and checked for leaks, after the suite.
 */
export function workerProcessRun(overrides: Record<string, string>, assertNoLeaks: (jobIds: string[]) => Promise<void>) {
  let stack: TestStack | undefined;
  let worker: HadesProcess | undefined;
  let second: Running | undefined;
  const jobIds: string[] = [];
  after(async () => {
    worker?.kill();
    await second?.stop();
    await stack?.stop();
    await assertNoLeaks(jobIds);
  });
  return {
    async start(workerEnv: Record<string, string>) {
      stack = await startTestStack({ ...overrides, HADES_ROLES: 'api,bridge' });
      worker = spawnHades({ ...stack.env, HADES_ROLES: 'worker', ...workerEnv });
      return { stack, worker, jobIds };
    },
    async secondWorker() {
      if (!stack) throw new Error('start first');
      second = await runHades(parseConfig({ ...stack.env, HADES_ROLES: 'worker' }));
    },
  };
}
