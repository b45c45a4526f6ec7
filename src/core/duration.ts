const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The longest duration any Blick setting takes, ms (~285,000 years); beyond it arithmetic on unix ms loses precision. */
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER;

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Parse a duration such as `500ms`, `10s`, `5m`, `1h30m`, `7d` into whole
 * milliseconds (rounded: `1.1s` is 1100). A bare number is taken as seconds
 * (as Sensu and Prometheus configs do). Returns undefined for anything else,
 * and for durations beyond {@link MAX_DURATION_MS}. One pass over the text,
 * no regular expression: `meter.steps` (tests) counts the characters examined.
 */
export function parseDuration(input: string | number, meter?: { steps: number }): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? bounded(input * 1000) : undefined;
  const s = input.trim();
  let i = 0, total = 0, parts = 0;
  const step = () => { i++; if (meter) meter.steps++; };
  while (i < s.length) {
    const start = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) step();
    if (i === start) return undefined;
    if (s[i] === '.') {
      step();
      const frac = i;
      while (i < s.length && isDigit(s.charCodeAt(i))) step();
      if (i === frac) return undefined;
    }
    const n = Number(s.slice(start, i));
    if (i === s.length && parts === 0) return bounded(n * 1000);
    const unit = s.startsWith('ms', i) ? 'ms' : s[i]!;
    const ms = UNITS[unit];
    if (ms === undefined) return undefined;
    step();
    if (unit === 'ms') step();
    total += n * ms;
    parts++;
  }
  return parts === 0 ? undefined : bounded(total);
}

function bounded(ms: number): number | undefined {
  const r = Math.round(ms);
  return Number.isFinite(r) && r <= MAX_DURATION_MS ? r + 0 : undefined; // + 0: no -0
}

/** Format milliseconds for humans: 1500 → "1.5s", 7_200_000 → "2h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)}h`;
  return `${+(ms / 86_400_000).toFixed(1)}d`;
}
