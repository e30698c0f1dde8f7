// Resource limit parsing, as Docker and the original Hades read them: `512M`, `2G`, `1.5g`,
// plain bytes; binary units (1G = 1024³ bytes).

const units: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  ki: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
};

/** Bytes of a memory string, or undefined when it cannot be read. */
export function parseMemory(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const factor = units[(match[2] ?? '').toLowerCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Docker's NanoCpus for a number of cores (0.5 → 500000000). */
export function cpusToNano(cores: number): number {
  return Math.round(cores * 1e9);
}

/** Operator-wide caps on every step (Hades's DOCKER_CPU_LIMIT, DOCKER_MEMORY_LIMIT). */
export interface StepCaps {
  maxCpus?: number;
  maxMemoryBytes?: number;
  /** Processes a step may have at once (DOCKER_PIDS_LIMIT): a fork bomb stops there. */
  maxPids?: number;
}

/** A step's CPU, memory and process limits under the caps: the smaller where both are set, either where one is. */
export function cappedLimits(
  step: { cpuLimit?: number; memoryBytes?: number; pidsLimit?: number },
  caps: StepCaps,
): { cpus?: number; memoryBytes?: number; pids?: number } {
  const cpus = smaller(step.cpuLimit, caps.maxCpus);
  const memoryBytes = smaller(step.memoryBytes, caps.maxMemoryBytes);
  const pids = smaller(step.pidsLimit, caps.maxPids);
  return { ...(cpus !== undefined && { cpus }), ...(memoryBytes !== undefined && { memoryBytes }), ...(pids !== undefined && { pids }) };
}

function smaller(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
