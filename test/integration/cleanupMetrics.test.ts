import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { connect } from 'nats';
import { createActivities } from '../../src/activities/createActivities';
import { parseConfig } from '../../src/config';
import { createLogStore } from '../../src/logs/logStore';
import { createExecutor } from '../../src/main/worker';
import { createMetrics } from '../../src/metrics';
import { testEnv } from '../helpers/testEnv';

it('a cleanup that Temporal retries (its first result lost) counts the job once', async () => {
  const nc = await connect({ servers: testEnv.natsUrl });
  const suffix = randomUUID().slice(0, 8);
  const stream = `CLEANUP_METRICS_${suffix}`;
  try {
    const logs = await createLogStore(nc, { stream, subjectPrefix: `cleanup-metrics.${suffix}` }, { maxAgeHours: 1, maxBytes: 1 << 20 });
    const metrics = createMetrics({ defaults: false });
    const executor = await createExecutor(parseConfig({ TEMPORAL_TASK_QUEUE: `cleanup-metrics-${suffix}` }));
    const activities = createActivities({ executor, logs, metrics, logLimits: { maxBytesPerStep: 1 << 20, maxLineBytes: 1 << 16 } });
    const jobId = `cleanup-metrics-${suffix}`;
    // The same activity input, run twice: as a retry after a worker lost the first completion.
    await activities.cleanupJob({ jobId, status: 'Succeeded', durationMs: 1500 });
    await activities.cleanupJob({ jobId, status: 'Succeeded', durationMs: 1500 });
    await activities.cleanupJob({ jobId: `${jobId}-other`, status: 'Failed', durationMs: 500 });
    const text = await metrics.registry.metrics();
    assert.match(text, /^hades_jobs_finished_total\{status="Succeeded"\} 1$/m);
    assert.match(text, /^hades_jobs_finished_total\{status="Failed"\} 1$/m);
    assert.match(text, /^hades_job_duration_seconds_count\{status="Succeeded"\} 1$/m);
  } finally {
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
});
