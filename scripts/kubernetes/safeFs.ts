// Reads of /proc, /sys and folders that other processes change under us: a vanished entry is
// no error, just nothing.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function readSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Every folder below `dir`, deepest first (a folder that vanishes meanwhile is skipped). */
export function subtree(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSafe(dir)) {
    const path = join(dir, entry);
    try {
      if (statSync(path).isDirectory()) out.push(...subtree(path));
    } catch {
      /* gone meanwhile */
    }
  }
  out.push(dir);
  return out;
}
