// The bench's table: every figure beside its baseline, every target met or not, as JSON and
// Markdown under bench/results/ with the machine it ran on.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { LatencyResult } from './scenarios/latency';
import type { ThroughputResult } from './scenarios/throughput';
import type { IntakeResult } from './scenarios/intake';
import type { StatusReadResult } from './scenarios/statusReads';
import type { BacklogResult, DrainResult } from './scenarios/backlog';
import type { LogResult } from './scenarios/logThroughput';
import { round, target } from './stats';
import type { Target } from './stats';

export interface Results {
  latency?: LatencyResult[];
  throughput?: ThroughputResult[];
  intake?: IntakeResult[];
  statusReads?: StatusReadResult[];
  backlog?: BacklogResult;
  drain?: DrainResult;
  logs?: LogResult;
}

export function machine() {
  let docker = 'unknown';
  try {
    docker = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
  } catch {
    /* no daemon */
  }
  return { cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30, 1), docker, node: process.version, date: new Date().toISOString() };
}

export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const lat = (steps: number) => r.latency?.find((l) => l.steps === steps);
  const one = lat(1);
  if (one) out.push(target('single-step job median ÷ docker run --rm median', one.hades.median / one.raw.median, '×', 'max', 1.15));
  const ten = lat(10) ?? lat(3);
  if (one && ten) {
    const further = ten.steps - 1;
    out.push(target(`each further step over its container (from ${ten.steps}-step jobs)`, (ten.hades.median - ten.raw.median - (one.hades.median - one.raw.median)) / further, 'ms', 'max', 25));
  }
  for (const t of r.throughput ?? []) {
    out.push(target(`throughput ÷ docker run at CONCURRENCY ${t.concurrency}`, t.hadesJobsPerSecond / t.rawJobsPerSecond, '×', 'min', 0.95));
    out.push(target(`end visible after the container's exit, p50, CONCURRENCY ${t.concurrency}`, t.endVisible.median, 'ms', 'max', 100));
    out.push(target(`end visible after the container's exit, p95, CONCURRENCY ${t.concurrency}`, t.endVisible.p95, 'ms', 'max', 250));
  }
  const i20 = r.intake?.find((i) => i.connections === 20);
  if (i20) {
    out.push(target('intake at 20 connections', i20.requestsPerSecond, 'req/s', 'min', 3000));
    out.push(target('intake p99 at 20 connections', i20.p99, 'ms', 'max', 25));
  }
  const i100 = r.intake?.find((i) => i.connections === 100);
  if (i100) out.push(target('intake errors at 100 connections', i100.errors + i100.non2xx, 'errors', 'max', 0));
  // The Temporal-only row is the profile of GET /jobs/{id}, not a target of its own.
  for (const s of (r.statusReads ?? []).filter((x) => x.route.startsWith('GET'))) out.push(target(`${s.route} p99 at 200 req/s, 4 jobs running`, s.p99, 'ms', 'max', 20));
  if (r.backlog) {
    for (const [p, mib] of Object.entries(r.backlog.rss)) out.push(target(`${p} resident memory, ${r.backlog.queued} queued`, mib, 'MiB', 'max', 300));
    out.push(target('high-priority job behind the backlog: submission → start', r.backlog.highPriorityStartMs, 'ms', 'max', 2000));
  }
  if (r.drain) out.push(target(`drain of ${r.drain.jobs} at CONCURRENCY 8 ÷ docker run`, r.drain.hadesSeconds / r.drain.rawSeconds, '×', 'max', 1.1));
  if (r.logs) {
    out.push(target(`log throughput ÷ output discarded (${r.logs.megabytes} MB)`, r.logs.rawSeconds / r.logs.hadesSeconds, '×', 'min', 0.8));
    // Not the issue's target: the same ratio against `docker run --rm` whose client reads the output.
    if (r.logs.rawReadSeconds !== undefined) out.push(target('log throughput ÷ `docker run --rm` reading the output', r.logs.rawReadSeconds / r.logs.hadesSeconds, '×', 'min', 0.8));
    out.push(target('API memory growth while streaming the logs', r.logs.apiRssPeak - r.logs.apiRssBefore, 'MiB', 'max', 64));
  }
  return out;
}

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');

export function markdown(m: ReturnType<typeof machine>, r: Results, t: Target[]): string {
  const lines = [`Machine: ${m.cores} cores, ${m.memoryGiB} GiB, Docker ${m.docker}, Node ${m.node}; ${m.date}.`, ''];
  if (r.latency) {
    lines.push('| job | Hades median | p95 | `docker run --rm` median | p95 | ratio |', '|---|---|---|---|---|---|');
    for (const l of r.latency) lines.push(`| ${l.steps} step(s), ${l.hades.n} runs | ${f(l.hades.median)} ms | ${f(l.hades.p95)} ms | ${f(l.raw.median)} ms | ${f(l.raw.p95)} ms | ${f(l.hades.median / l.raw.median, 2)}× |`);
    lines.push('');
    const p = r.latency.find((l) => l.phases)?.phases;
    if (p) {
      lines.push(
        "Where a one-step job's time goes (medians, from each job's workflow history), beside `docker run --rm`:",
        '',
        '| POST → workflow started | first workflow task | step to a worker | step activity (container made, run, removed) | last workflow task | → client sees the end | `docker run --rm` |',
        '|---|---|---|---|---|---|---|',
        `| ${f(p.intake)} ms | ${f(p.firstTask)} ms | ${f(p.dispatch)} ms | ${f(p.activity)} ms | ${f(p.lastTask)} ms | ${f(p.seen)} ms | ${f(r.latency.find((l) => l.steps === 1)?.raw.median ?? NaN)} ms |`,
        '',
      );
    }
  }
  if (r.throughput) {
    lines.push('| throughput | Hades | `docker run --rm` | ratio | end visible after exit p50 / p95 |', '|---|---|---|---|---|');
    for (const x of r.throughput) lines.push(`| ${x.jobs} jobs at CONCURRENCY ${x.concurrency} | ${f(x.hadesJobsPerSecond, 2)} jobs/s | ${f(x.rawJobsPerSecond, 2)} jobs/s | ${f(x.hadesJobsPerSecond / x.rawJobsPerSecond, 2)}× | ${f(x.endVisible.median)} / ${f(x.endVisible.p95)} ms |`);
    lines.push('');
    // Where the CPU went, per job: what makes the difference once the cores are busy.
    const withCpu = r.throughput.filter((x) => x.cpu);
    const groups = [...new Set(withCpu.flatMap((x) => [...Object.keys(x.cpu!.hades.perJobMs), ...Object.keys(x.cpu!.raw.perJobMs)]))];
    if (withCpu.length > 0) {
      lines.push(`| CPU ms per job (cores busy) | ${groups.join(' | ')} |`, `|---|${groups.map(() => '---|').join('')}`);
      for (const x of withCpu) {
        for (const [who, u] of [['Hades', x.cpu!.hades], ['`docker run --rm`', x.cpu!.raw]] as const) {
          lines.push(`| ${who} at CONCURRENCY ${x.concurrency} (${f(u.busyShare * 100)} % busy) | ${groups.map((g) => f(u.perJobMs[g] ?? 0)).join(' | ')} |`);
        }
      }
      lines.push('');
    }
  }
  if (r.intake) {
    lines.push('| intake (`POST /build`, no worker) | req/s | p50 | p99 | errors | non-2xx |', '|---|---|---|---|---|---|');
    for (const x of r.intake) lines.push(`| ${x.connections} connections, ${x.seconds} s | ${f(x.requestsPerSecond)} | ${f(x.p50)} ms | ${f(x.p99)} ms | ${x.errors} | ${x.non2xx} |`);
    lines.push('');
  }
  if (r.statusReads) {
    lines.push('| status reads at 200 req/s, 4 jobs running | req/s | p50 | p99 |', '|---|---|---|---|');
    for (const x of r.statusReads) lines.push(`| ${x.route} | ${f(x.requestsPerSecond)} | ${f(x.p50, 1)} ms | ${f(x.p99, 1)} ms |`);
    lines.push('');
  }
  if (r.backlog) {
    const b = r.backlog;
    lines.push(`Backlog: ${b.queued} jobs queued in ${f(b.submitSeconds, 1)} s; resident memory ${Object.entries(b.rss).map(([k, v]) => `${k} ${f(v)} MiB`).join(', ')}; a high-priority job submitted behind them started after ${f(b.highPriorityStartMs)} ms; the bulk cancel (\`${b.cancelCommand}\`) ended ${b.cancelled} of them in ${f(b.cancelSeconds, 1)} s (${f(b.cancelRatePerSecond, 1)} jobs/s${b.cancelled < b.queued + 1 ? '; the bench stopped watching there' : ''}).`, '');
  }
  if (r.drain) {
    const d = r.drain;
    lines.push(`Drain: ${d.jobs} queued jobs at CONCURRENCY 8 in ${f(d.hadesSeconds, 1)} s (from the moment its worker runs), \`docker run --rm\` ×${d.jobs} in 8 loops ${f(d.rawSeconds, 1)} s; peak memory ${Object.entries(d.peakRss).map(([k, v]) => `${k} ${f(v)} MiB`).join(', ')}.`, '');
  }
  if (r.logs) {
    const l = r.logs;
    lines.push(`Logs: a step writing ${l.megabytes} MB to stdout took ${f(l.hadesSeconds, 1)} s through Hades (a client following its live stream received ${f(l.streamedBytes / 1e6, 1)} MB), ${f(l.rawSeconds, 1)} s with its output discarded${l.rawReadSeconds !== undefined ? `, ${f(l.rawReadSeconds, 1)} s through \`docker run --rm\` whose client reads it` : ''}; API memory ${f(l.apiRssBefore)} → peak ${f(l.apiRssPeak)} MiB.`, '');
  }
  lines.push('| target | figure | limit | met |', '|---|---|---|---|');
  for (const x of t) lines.push(`| ${x.name} | ${f(x.value, x.unit === '×' ? 2 : 0)} ${x.unit} | ${x.kind === 'max' ? '≤' : '≥'} ${x.limit} ${x.unit} | ${x.met ? 'yes' : '**no**'} |`);
  return `${lines.join('\n')}\n`;
}

export function write(dir: string, m: ReturnType<typeof machine>, r: Results): string {
  mkdirSync(dir, { recursive: true });
  const t = targets(r);
  const md = markdown(m, r, t);
  const stamp = m.date.replace(/[:.]/g, '-');
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify({ machine: m, results: r, targets: t }, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}.md`), md);
  writeFileSync(join(dir, 'latest.md'), md);
  return md;
}
