// Hades priorities are integers: ≥3 high, 2 medium, ≤1 low.

export const priorityLevels = ['high', 'medium', 'low'] as const;
export type PriorityLevel = (typeof priorityLevels)[number];

export const defaultPriority = 3;

export function priorityLevel(priority: number): PriorityLevel {
  if (priority >= 3) return 'high';
  if (priority === 2) return 'medium';
  return 'low';
}
