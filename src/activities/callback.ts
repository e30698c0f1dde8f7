import { ApplicationFailure } from '@temporalio/activity';
import type { JobStatus } from '../job';
import type { LogStore } from '../logs/logStore';
import { toStepLogs } from '../logs/logStore';

export interface CallbackInput {
  jobId: string;
  url: string;
  status: JobStatus;
  timeoutSeconds: number;
}

export const callbackHeaders = { jobId: 'X-Hades-Job-Id', status: 'X-Hades-Job-Status' } as const;

/**
 * POSTs the job's logs to its callback_url in the body the original Hades sends (a JSON array of
 * Log objects: job_id, container_id, logs), with the job id and final status in headers.
 * A 5xx, 408, 429 or no answer is retried by Temporal; any other 4xx is final.
 */
export async function sendCallback(logs: LogStore, input: CallbackInput): Promise<void> {
  const body = toStepLogs(await logs.batches(input.jobId)).map((s) => ({ job_id: s.job_id, container_id: s.container_id, logs: s.logs }));
  const res = await fetch(input.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [callbackHeaders.jobId]: input.jobId, [callbackHeaders.status]: input.status },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(input.timeoutSeconds * 1000),
    redirect: 'follow',
  });
  await res.body?.cancel();
  if (res.ok) return;
  const message = `callback to ${input.url} answered ${res.status}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
    throw ApplicationFailure.create({ type: 'CallbackRejected', message, nonRetryable: true });
  }
  throw new Error(message);
}
