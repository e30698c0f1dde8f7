import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { terminalStatuses } from '../job';
import type { JobState } from '../job';
import { ApiClient, CliError, exitCodes } from './client';
import { formatLine, formatList, formatProgress, formatStatus } from './format';

const usage = `Usage: hades <command> [options]

Commands:
  submit FILE [--follow] [--detach]  submit a job (JSON, as for POST /build; - reads stdin);
                                     waits for it (--follow prints its logs live) and exits 0
                                     only if it succeeded; --detach prints the id and returns
  status ID                          the job's status and steps
  logs ID [--follow]                 the job's logs (--follow: live until it ends)
  cancel ID                          cancel a job
  list [--status S] [--limit N]      jobs, newest first

Options:
  --url URL          the Hades API (default $HADES_URL or http://localhost:8080)
  --auth-key KEY     AUTH_KEY of the API (default $HADES_AUTH_KEY)

Exit codes: 0 succeeded, 1 the job did not succeed, 2 usage, 3 the API failed or refused.`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  stdin: () => string;
}

async function waitForEnd(api: ApiClient, id: string, io: Io): Promise<JobState> {
  let shown = '';
  for (;;) {
    const job = await api.status(id);
    const progress = formatProgress(job);
    if (progress !== shown) {
      io.err(`… ${progress}`);
      shown = progress;
    }
    if (terminalStatuses.has(job.status)) return job;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function finalOf(api: ApiClient, id: string): Promise<JobState> {
  // The log stream ends with the job; the status may trail it by a moment.
  for (let i = 0; i < 20; i++) {
    const job = await api.status(id);
    if (terminalStatuses.has(job.status)) return job;
    await new Promise((r) => setTimeout(r, 250));
  }
  return api.status(id);
}

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        follow: { type: 'boolean', short: 'f' },
        detach: { type: 'boolean', short: 'd' },
        status: { type: 'string' },
        limit: { type: 'string' },
        url: { type: 'string' },
        'auth-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`hades: ${(err as Error).message}\n\n${usage}`);
    return exitCodes.usage;
  }
  const { values, positionals } = parsed;
  const [command, arg] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(usage);
    return values.help ? 0 : exitCodes.usage;
  }
  const authKey = values['auth-key'] ?? io.env.HADES_AUTH_KEY;
  const api = new ApiClient({ baseUrl: values.url ?? io.env.HADES_URL ?? 'http://localhost:8080', ...(authKey && { authKey }) });
  const needId = () => {
    if (!arg) throw new CliError(`hades ${command}: which job? (hades ${command} ID)`, exitCodes.usage);
    return arg;
  };

  try {
    switch (command) {
      case 'submit': {
        if (!arg) throw new CliError('hades submit: which file? (hades submit job.json, or - for stdin)', exitCodes.usage);
        let job: unknown;
        try {
          job = JSON.parse(arg === '-' ? io.stdin() : readFileSync(arg, 'utf8'));
        } catch (err) {
          throw new CliError(`hades submit: cannot read a job from ${arg}: ${(err as Error).message}`, exitCodes.usage);
        }
        const id = await api.submit(job);
        io.out(id);
        if (values.detach) return 0;
        io.err(`submitted job ${id}`);
        if (values.follow) await api.follow(id, (line) => io.out(formatLine(line)));
        const final = values.follow ? await finalOf(api, id) : await waitForEnd(api, id, io);
        io.err(`job ${id} ${final.status}${final.reason ? `: ${final.reason}` : ''}`);
        return final.status === 'Succeeded' ? 0 : exitCodes.jobDidNotSucceed;
      }
      case 'status': {
        const job = await api.status(needId());
        io.out(formatStatus(job));
        return 0;
      }
      case 'logs': {
        const id = needId();
        if (values.follow) {
          const status = await api.follow(id, (line) => io.out(formatLine(line)));
          if (status) io.err(`job ${id} ${status}`);
          return 0;
        }
        for (const step of await api.logs(id)) for (const line of step.logs) io.out(formatLine({ ...line, step_name: step.step_name }));
        return 0;
      }
      case 'cancel': {
        const id = needId();
        await api.cancel(id);
        io.out(`cancellation of job ${id} requested`);
        return 0;
      }
      case 'list': {
        const limit = values.limit === undefined ? undefined : Number(values.limit);
        const page = await api.list({ ...(values.status && { status: values.status }), ...(limit !== undefined && { limit }) });
        io.out(formatList(page.jobs));
        return 0;
      }
      default:
        io.err(`hades: unknown command "${command}"\n\n${usage}`);
        return exitCodes.usage;
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`hades: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}
