import type { JobState } from '../../src/job';
import { terminalStatuses } from '../../src/job';

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export async function request<T = unknown>(url: string, init: RequestInit & { json?: unknown } = {}): Promise<HttpResult<T>> {
  const { json, ...rest } = init;
  const res = await fetch(url, {
    ...rest,
    ...(json !== undefined && { body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...(rest.headers as Record<string, string>) } }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep text */
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** Polls GET /jobs/{id} until the job ends (or `timeoutMs`), returning the last state. */
export async function waitForEnd(apiUrl: string, id: string, timeoutMs = 60_000, headers: Record<string, string> = {}): Promise<JobState> {
  const deadline = Date.now() + timeoutMs;
  let last: HttpResult<JobState> | undefined;
  while (Date.now() < deadline) {
    last = await request<JobState>(`${apiUrl}/jobs/${id}`, { headers });
    if (last.status === 200 && terminalStatuses.has(last.body.status)) return last.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id} did not end within ${timeoutMs} ms; last answer ${last?.status} ${JSON.stringify(last?.body)}`);
}
