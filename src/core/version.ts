import { readFileSync } from 'node:fs';

let cached: string | undefined;
/** Blick's version, from package.json. */
export function blickVersion(): string {
  if (cached) return cached;
  for (const rel of ['../../../package.json', '../../package.json']) {
    try { cached = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version as string; if (cached) return cached; } catch { /* next */ }
  }
  return (cached = '0.0.0');
}
