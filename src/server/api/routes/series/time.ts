import { BlickError } from '../../../../core/errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** `15m`, `24h`, `7d`, `500ms` in ms; undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/**
 * A point in time as `from=`/`to=` accept it: unix milliseconds, RFC 3339, or
 * a duration meaning that long before `now` (`24h`), or `now`. Own parser because the
 * shared `since=` one is being written at the same time; same three forms.
 */
export function parseInstant(name: string, text: string, now: number): number {
  if (/^\d{1,16}$/.test(text)) return Number(text);
  if (text === 'now') return now;
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  if (RFC3339.test(text)) {
    const t = Date.parse(text.replace(' ', 'T'));
    if (Number.isFinite(t)) return t;
  }
  throw new BlickError('BAD_REQUEST', `parameter ${name}: ${JSON.stringify(text.slice(0, 64))} is not a time; use unix milliseconds, RFC 3339 (2026-01-31T12:00:00Z), a duration before now (15m, 24h, 7d) or now`);
}

/** `step=`: a duration (`5m`) or milliseconds. */
export function parseStep(text: string): number {
  const ms = /^\d{1,16}$/.test(text) ? Number(text) : parseDuration(text);
  if (ms === undefined || !(ms >= 1)) throw new BlickError('BAD_REQUEST', `parameter step: ${JSON.stringify(text.slice(0, 64))} is not a step; use milliseconds or a duration (30s, 5m, 1h)`);
  return Math.floor(ms);
}
