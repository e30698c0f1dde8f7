import type { Client, WorkflowExecutionStatusName } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CancelResult, JobPage, JobStore, JobSummary } from '../api/deps';
import { terminalStatuses } from '../job';
import type { JobState } from '../job';
import { jobSearchAttributes } from '../workflows/searchAttributes';
import { workflowType, readJob } from './jobs';
import { decodeCursor, encodeCursor } from './cursor';
import { jobView } from './jobView';

export interface JobStoreOptions {
  taskQueue: string;
  /** Called after a cancel reached Temporal or found no workflow: the queue records it for the bridge. */
  onCancelBeforeStart?: (id: string) => Promise<boolean>;
}

const statusNames = temporal.api.enums.v1.WorkflowExecutionStatus;

function statusName(code: number | null | undefined): WorkflowExecutionStatusName {
  const name = statusNames[code ?? 0] ?? 'WORKFLOW_EXECUTION_STATUS_UNSPECIFIED';
  return name.replace('WORKFLOW_EXECUTION_STATUS_', '') as WorkflowExecutionStatusName;
}

/** How long an API call waits for Temporal before it answers 503 (the SDK retries until then). */
const API_DEADLINE_MS = 5000;

/** Jobs as Temporal knows them: read by describe, cancelled through the workflow, listed by visibility. */
export function createJobStore(client: Client, options: JobStoreOptions): JobStore {
  const codecs = client.options.loadedDataConverter.payloadCodecs;
  /** A memo as listed (raw payloads): through the codecs (decrypted), then from JSON. */
  async function decodeMemo(fields: Record<string, Payload>): Promise<Record<string, unknown>> {
    const keys = Object.keys(fields);
    let payloads = keys.map((k) => fields[k]!);
    for (const codec of [...codecs].reverse()) payloads = await codec.decode(payloads);
    return Object.fromEntries(keys.map((k, i) => [k, defaultPayloadConverter.fromPayload(payloads[i]!)]));
  }
  const bounded = <R>(fn: () => Promise<R>) => client.withDeadline(Date.now() + API_DEADLINE_MS, fn);
  async function cancelWorkflow(id: string): Promise<CancelResult> {
    const job = await readJob(client, id);
    if (!job) return { outcome: 'not_found' };
    if (terminalStatuses.has(job.status)) return { outcome: 'finished', status: job.status };
    try {
      await client.workflow.getHandle(id).cancel();
    } catch (err) {
      // Closed between our read and the cancel.
      const again = await readJob(client, id);
      if (again && terminalStatuses.has(again.status)) return { outcome: 'finished', status: again.status };
      throw err;
    }
    return { outcome: 'requested' };
  }

  return {
    read: (id) => bounded(() => readJob(client, id)),

    async cancel(id) {
      const result = await bounded(() => cancelWorkflow(id));
      if (result.outcome !== 'not_found' || !options.onCancelBeforeStart) return result;
      // Not started yet: record the request where the bridge looks before (and after) it starts
      // the job; then look again, in case the bridge started it meanwhile.
      if (!(await options.onCancelBeforeStart(id))) return result;
      const after = await bounded(() => cancelWorkflow(id));
      return after.outcome === 'not_found' ? { outcome: 'requested' } : after;
    },

    async list({ status, limit, cursor }) {
      let query = `WorkflowType = '${workflowType}' AND TaskQueue = '${options.taskQueue}'`;
      if (status) query += ` AND ${jobSearchAttributes.status.name} = '${status}'`;
      const response = await bounded(() => client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query,
        pageSize: limit,
        ...(cursor && { nextPageToken: decodeCursor(cursor, query) }),
      }));
      const jobs: JobSummary[] = [];
      for (const execution of response.executions ?? []) {
        const memo = await decodeMemo(execution.memo?.fields ?? {});
        const view = jobView({ status: statusName(execution.status), memo });
        if (view) jobs.push(summary(view));
      }
      const token = response.nextPageToken;
      const page: JobPage = { jobs };
      if (token && token.length > 0) page.nextCursor = encodeCursor(token, query);
      return page;
    },
  };
}

function summary(job: JobState): JobSummary {
  const { steps: _steps, priorityLevel: _level, ...rest } = job;
  return rest;
}
