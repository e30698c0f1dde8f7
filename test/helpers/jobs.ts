import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import type { StepLogs } from '../../src/logs/types';
import { labels } from '../../src/activities/docker/names';
import { docker } from './docker';
import { request } from './http';

/** POSTs a job and returns its id, failing the test on anything but 200. */
export async function submitJob(apiUrl: string, payload: unknown, jobIds?: string[], headers: Record<string, string> = {}): Promise<string> {
  const res = await request<{ job_id: string }>(`${apiUrl}/build`, { method: 'POST', json: payload, headers });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  jobIds?.push(res.body.job_id);
  return res.body.job_id;
}

/** Inspects the job's running container for `stepIndex` as soon as it runs. */
export async function inspectRunningStep(jobId: string, stepIndex: number, timeoutMs = 30_000): Promise<Docker.ContainerInspectInfo> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const running = await docker.listContainers({
      filters: { label: [`${labels.job}=${jobId}`, `${labels.step}=${stepIndex}`], status: ['running'] },
    });
    const first = running[0];
    if (first) return docker.getContainer(first.Id).inspect();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`step ${stepIndex} of job ${jobId} never ran`);
}

/** Waits until `message` is a line of the job's published log. */
export async function waitForLogLine(apiUrl: string, id: string, message: string, timeoutMs = 60_000, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await request<{ logs: StepLogs[] }>(`${apiUrl}/jobs/${id}/logs`, { headers });
    if (res.body.logs?.some((s) => s.logs.some((l) => l.message === message))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`"${message}" never reached the log of job ${id}`);
}
