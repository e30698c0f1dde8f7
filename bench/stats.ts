// Figures from samples: pure, so the bench's arithmetic is unit-tested (test/unit/benchStats.test.ts).

export interface Summary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

/** The q-quantile (0..1) of samples, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    median: quantile(samples, 0.5),
    p95: quantile(samples, 0.95),
    p99: quantile(samples, 0.99),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
  };
}

/** A target: the figure, what it must be, whether it is. */
export interface Target {
  name: string;
  value: number;
  unit: string;
  limit: number;
  /** `max`: value must be at most limit; `min`: at least. */
  kind: 'max' | 'min';
  met: boolean;
}

export function target(name: string, value: number, unit: string, kind: 'max' | 'min', limit: number): Target {
  return { name, value, unit, limit, kind, met: Number.isFinite(value) && (kind === 'max' ? value <= limit : value >= limit) };
}

export const round = (x: number, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN);
