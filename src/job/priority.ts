// Hades priorities are integers: ≥3 high, 2 medium, ≤1 low.

export const priorityLevels = ['high', 'medium', 'low'] as const;
export type PriorityLevel = (typeof priorityLevels)[number];

export const defaultPriority = 3;

export function priorityLevel(priority: number): PriorityLevel {
  if (priority >= 3) return 'high';
  if (priority === 2) return 'medium';
  return 'low';
}

/** The priority a level stands for, where only the level is known (a subject). */
export const levelPriority: Record<PriorityLevel, number> = { high: 3, medium: 2, low: 1 };
