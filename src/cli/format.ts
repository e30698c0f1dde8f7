import type { JobSummary } from '../api/deps';
import type { JobState } from '../job';
import type { LogLine } from '../logs/types';

// What the CLI prints: pure, so its shape is testable.

export function formatLine(line: LogLine & { step_name?: string }): string {
  const prefix = line.step_name ? `[${line.step_name}] ` : '';
  return `${prefix}${line.message}${line.truncated ? ' […]' : ''}`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`;
}

export function formatStatus(job: JobState): string {
  const lines = [
    `job      ${job.id}`,
    `name     ${job.name}`,
    `status   ${job.status}${job.reason ? ` — ${job.reason}` : ''}`,
    `priority ${job.priority} (${job.priorityLevel})`,
    `queued   ${job.queuedAt}`,
    ...(job.startedAt ? [`started  ${job.startedAt}`] : []),
    ...(job.finishedAt ? [`finished ${job.finishedAt}${job.durationMs !== undefined ? ` (${seconds(job.durationMs)})` : ''}`] : []),
    'steps',
  ];
  for (const s of job.steps) {
    const exit = s.exitCode !== undefined ? ` exit ${s.exitCode}` : '';
    lines.push(`  ${s.id.padEnd(4)} ${s.status.padEnd(9)} ${s.name} (${s.image})${exit}${s.durationMs !== undefined ? ` ${seconds(s.durationMs)}` : ''}`);
  }
  return lines.join('\n');
}

export function formatList(jobs: JobSummary[]): string {
  if (jobs.length === 0) return 'no jobs';
  const rows = jobs.map((j) => [j.id, j.status, j.queuedAt, j.name]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ')).join('\n');
}

/** One line of progress while waiting: which step of how many runs. */
export function formatProgress(job: JobState): string {
  const running = job.steps.find((s) => s.status === 'Running');
  if (running) return `${job.status}: step ${running.index + 1}/${job.steps.length} "${running.name}"`;
  return job.status;
}
