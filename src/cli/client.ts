import type { JobPage } from '../api/deps';
import type { ErrorBody } from '../api/errors';
import type { JobState } from '../job';
import type { LogLine, StepLogs } from '../logs/types';
import { sseEvents } from './sse';

/** A failure the CLI reports in one clear sentence (no stack trace). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    /** The API could not be reached at all (as opposed to an answer it gave). */
    readonly unreachable = false,
  ) {
    super(message);
  }
}

export const exitCodes = { succeeded: 0, jobDidNotSucceed: 1, usage: 2, api: 3 } as const;

export interface LiveLine extends LogLine {
  job_id: string;
  step_id: string;
  step_name: string;
}

export interface ApiClientOptions {
  baseUrl: string;
  authKey?: string;
}

/** The Hades HTTP API, as the CLI uses it. */
export class ApiClient {
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.headers = options.authKey ? { authorization: `Basic ${Buffer.from(`hades:${options.authKey}`).toString('base64')}` } : {};
  }

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { ...init, headers: { ...this.headers, ...(init.headers as Record<string, string>) } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach the Hades API at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? Set HADES_URL or --url`, exitCodes.api, true);
    }
    if (res.status >= 400) {
      const text = await res.text();
      let detail = text;
      try {
        const body = JSON.parse(text) as ErrorBody;
        detail = body.error.message + (body.error.fields ? body.error.fields.map((f) => `\n  ${f.path}: ${f.message}`).join('') : '');
      } catch {
        /* not our JSON: show the text */
      }
      const hint = res.status === 401 ? ' (set HADES_AUTH_KEY or --auth-key)' : '';
      throw new CliError(`the API answered ${res.status}: ${detail}${hint}`, exitCodes.api);
    }
    return res;
  }

  async submit(job: unknown): Promise<string> {
    const res = await this.call('/build', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) });
    return ((await res.json()) as { job_id: string }).job_id;
  }

  async status(id: string): Promise<JobState> {
    return (await (await this.call(`/jobs/${encodeURIComponent(id)}`)).json()) as JobState;
  }

  async logs(id: string): Promise<StepLogs[]> {
    return ((await (await this.call(`/jobs/${encodeURIComponent(id)}/logs`)).json()) as { logs: StepLogs[] }).logs;
  }

  /**
   * Live lines until the job ends; returns the final status the stream reported. A stream that
   * breaks off (the API restarted, or shut down with a `shutdown` event) is reopened after the
   * last line seen (`Last-Event-ID`), so each line shows once; after `reconnects` failed tries
   * in a row it gives up with the API's error.
   */
  async follow(id: string, onLine: (line: LiveLine) => void, options: { reconnects?: number; retryMs?: number } = {}): Promise<string | undefined> {
    const reconnects = options.reconnects ?? 30;
    const retryMs = options.retryMs ?? 1000;
    let lastId: string | undefined;
    let connected = false;
    for (let failures = 0; ; ) {
      try {
        const res = await this.call(`/jobs/${encodeURIComponent(id)}/logs/stream`, lastId === undefined ? {} : { headers: { 'Last-Event-ID': lastId } });
        connected = true;
        if (!res.body) return undefined;
        for await (const e of sseEvents(res.body as unknown as AsyncIterable<Uint8Array>)) {
          failures = 0;
          if (e.id !== undefined) lastId = e.id;
          if (e.event === 'log') onLine(e.data as LiveLine);
          if (e.event === 'end') return (e.data as { status: string }).status;
          if (e.event === 'shutdown') break;
        }
      } catch (err) {
        // Only an API that went away mid-stream is waited for; one never reached, or an answer
        // such as 401 or 404, is final.
        const unreachable = err instanceof CliError ? err.unreachable : true;
        if (!connected || !unreachable || failures >= reconnects) throw err;
      }
      if (++failures > reconnects) return undefined;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }

  async cancel(id: string): Promise<void> {
    await this.call(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  }

  async list(query: { status?: string; limit?: number; cursor?: string }): Promise<JobPage> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    return (await (await this.call(`/jobs?${params.toString()}`)).json()) as JobPage;
  }
}
