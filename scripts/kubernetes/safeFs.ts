// Reads of /proc, /sys and folders that other processes change under us: a vanished entry is
// no error, just nothing.
import { readdirSync, readFileSync } from 'node:fs';

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
