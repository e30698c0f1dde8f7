import type { PriorityLevel } from './priority';

// Temporal's task priority: a lower key is dispatched first (1 to 5, the server's default range).
// Key 1 is kept for steps that waited longer than the aging time, whatever their level: they go
// before fresh high jobs, so a steady stream of high jobs cannot starve low ones.
export const priorityKeys: Record<PriorityLevel, number> = { high: 2, medium: 3, low: 4 };
export const agedPriorityKey = 1;
