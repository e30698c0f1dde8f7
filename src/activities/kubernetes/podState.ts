import type { V1Pod } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { stepContainer } from './podSpec';

/** Where a step's pod stands, read from its status alone (pure). */
export type PodState =
  | { kind: 'pending'; since: number; unschedulable?: string; waiting?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; reason: string; startedAt: string; finishedAt: string }
  /** The container can never start: the user's image or step is at fault (final). */
  | { kind: 'cannot-start'; reason: string; message: string }
  /** The pod ended without its container finishing (evicted, node lost): infrastructure. */
  | { kind: 'lost'; reason: string; message: string };

/** Waiting reasons that will not go away by waiting: the step fails at once with Kubernetes's reason. */
const finalWaitingReasons = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

export function podState(pod: V1Pod): PodState {
  const status = pod.status;
  const container = status?.containerStatuses?.find((c) => c.name === stepContainer);
  const terminated = container?.state?.terminated;
  if (terminated) {
    return {
      kind: 'terminated',
      exitCode: terminated.exitCode,
      reason: terminated.reason ?? '',
      startedAt: isoTime(terminated.startedAt) ?? isoTime(terminated.finishedAt) ?? new Date(0).toISOString(),
      finishedAt: isoTime(terminated.finishedAt) ?? new Date(0).toISOString(),
    };
  }
  const running = container?.state?.running;
  if (running) return { kind: 'running', startedAt: isoTime(running.startedAt) ?? new Date().toISOString() };

  const waiting = container?.state?.waiting;
  if (waiting?.reason && finalWaitingReasons.has(waiting.reason)) {
    return { kind: 'cannot-start', reason: waiting.reason, message: waiting.message ?? waiting.reason };
  }
  if (status?.phase === 'Failed' || status?.phase === 'Succeeded') {
    return { kind: 'lost', reason: status.reason ?? status.phase, message: status.message ?? `pod ${status.phase.toLowerCase()} before its container finished` };
  }
  const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
  const created = Date.parse(String(pod.metadata?.creationTimestamp ?? ''));
  const since = Number.isFinite(created) ? created : Date.now();
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { kind: 'pending', since, unschedulable: scheduled.message ?? 'Unschedulable' };
  }
  return { kind: 'pending', since, ...(waiting?.reason && { waiting: waiting.message ? `${waiting.reason}: ${waiting.message}` : waiting.reason }) };
}

/** client-node hands times as Date objects (or strings, from a raw watch): ISO text either way. */
function isoTime(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const ms = typeof t === 'string' ? Date.parse(t) : t.getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
