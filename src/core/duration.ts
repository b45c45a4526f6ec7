const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The longest duration any Blick setting takes, ms (~285,000 years); beyond it arithmetic on unix ms loses precision. */
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER;

/**
 * Parse a duration such as `500ms`, `10s`, `5m`, `1h30m`, `7d` into milliseconds.
 * A bare number is taken as seconds (as Sensu and Prometheus configs do).
 * Returns undefined for anything else, and for durations beyond {@link MAX_DURATION_MS}.
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? bounded(input * 1000) : undefined;
  const s = input.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return bounded(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0, matched = 0, m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) { total += Number(m[1]) * UNITS[m[2]!]!; matched = re.lastIndex; }
  if (matched === 0 || matched !== s.length) return undefined;
  return bounded(total);
}

function bounded(ms: number): number | undefined {
  return Number.isFinite(ms) && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** Format milliseconds for humans: 1500 → "1.5s", 7_200_000 → "2h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)}h`;
  return `${+(ms / 86_400_000).toFixed(1)}d`;
}
