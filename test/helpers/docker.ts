import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { labels } from '../../src/activities/docker/names';

export const docker = new Docker();

/** Fails when any container or volume of these jobs is still there (on the main daemon, or `on`). */
export async function assertNoLeaks(jobIds: string[], on: Docker = docker): Promise<void> {
  const containers = await on.listContainers({ all: true, filters: { label: [labels.managed] } });
  const leakedContainers = containers.filter((c) => jobIds.includes(c.Labels[labels.job] ?? ''));
  const { Volumes } = await on.listVolumes({ filters: { label: [labels.managed] } });
  const leakedVolumes = (Volumes ?? []).filter((v) => jobIds.includes(v.Labels?.[labels.job] ?? ''));
  assert.deepEqual(
    { containers: leakedContainers.map((c) => c.Names[0]), volumes: leakedVolumes.map((v) => v.Name) },
    { containers: [], volumes: [] },
    'a job left containers or volumes behind',
  );
}
