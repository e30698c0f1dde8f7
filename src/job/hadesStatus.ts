import type { JobStatus } from './types';

/** The five statuses the current Hades (its log manager, its status feed) speaks. */
export const hadesStatuses = ['Queued', 'Running', 'Succeeded', 'Failed', 'Stopped'] as const;
export type HadesStatus = (typeof hadesStatuses)[number];

/** This project's status in Hades's words: Cancelled is Stopped, TimedOut a Failed (with its reason). */
export function toHadesStatus(status: JobStatus): HadesStatus {
  switch (status) {
    case 'Cancelled':
      return 'Stopped';
    case 'TimedOut':
      return 'Failed';
    default:
      return status;
  }
}
