import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// Prometheus metrics of one Hades process, served on the API's GET /metrics.

const durationBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export interface Metrics {
  registry: Registry;
  jobsSubmitted: Counter<'priority'>;
  authFailures: Counter;
  logStreamWaits: Counter;
  jobsStarted: Counter;
  jobsFinished: Counter<'status'>;
  jobDuration: Histogram<'status'>;
  stepDuration: Histogram<'status'>;
  runningSteps: Gauge;
  queueDepth: Gauge;
}

/** `queueDepth` is read when scraped: jobs in JetStream no bridge has taken yet. */
export function createMetrics(options: { queueDepth?: () => Promise<number>; defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'hades_' });
  const readDepth = options.queueDepth;
  return {
    registry,
    jobsSubmitted: new Counter({ name: 'hades_jobs_submitted_total', help: 'Jobs accepted by POST /build', labelNames: ['priority'], registers: [registry] }),
    authFailures: new Counter({ name: 'hades_auth_failures_total', help: 'Requests refused for missing or wrong credentials', registers: [registry] }),
    logStreamWaits: new Counter({
      name: 'hades_log_stream_waits_total',
      help: 'Times a log answer or live log stream waited for a slow client to read (its socket buffer full)',
      registers: [registry],
    }),
    jobsStarted: new Counter({ name: 'hades_jobs_started_total', help: 'Job workflows the bridge started', registers: [registry] }),
    jobsFinished: new Counter({ name: 'hades_jobs_finished_total', help: 'Jobs that ended, by final status', labelNames: ['status'], registers: [registry] }),
    jobDuration: new Histogram({ name: 'hades_job_duration_seconds', help: 'From queued to ended', labelNames: ['status'], buckets: durationBuckets, registers: [registry] }),
    stepDuration: new Histogram({ name: 'hades_step_duration_seconds', help: "A step container's run time", labelNames: ['status'], buckets: durationBuckets, registers: [registry] }),
    runningSteps: new Gauge({ name: 'hades_running_steps', help: 'Step containers this worker runs now', registers: [registry] }),
    queueDepth: new Gauge({
      name: 'hades_queue_depth',
      help: 'Submitted jobs waiting in JetStream for a bridge',
      registers: [registry],
      async collect() {
        if (readDepth) this.set(await readDepth().catch(() => NaN));
      },
    }),
  };
}
