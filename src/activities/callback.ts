import { ApplicationFailure } from '@temporalio/activity';
import type { JobStatus } from '../job';
import type { LogStore } from '../logs/logStore';
import { CallbackBody } from './callbackBody';

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
export async function sendCallback(logs: LogStore, input: CallbackInput, maxLogBytes: number): Promise<void> {
  // The newest lines within maxLogBytes, read batch by batch: bounded however long the log.
  const bounded = new CallbackBody(input.jobId, maxLogBytes);
  for await (const batch of logs.eachBatch(input.jobId)) bounded.push(batch);
  const body = bounded.logs();
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
