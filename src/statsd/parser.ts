/**
 * The statsd line protocol, parsed exactly as Etsy statsd 0.9 parses it
 * (stats.js `handlePacket` and lib/helpers.js `is_valid_packet`), plus the
 * DogStatsD extensions Etsy also understands (`|#tags`) and the types it does
 * not (`h`, `d`: histogram and distribution samples, aggregated as timers).
 *
 * Etsy quirks kept on purpose, because a drop-in must flush the same numbers:
 * - a value is a number when `Number(text)` is not NaN (so `0x10`, ` 5 `, `1e3` count);
 * - the type is validated untrimmed but dispatched trimmed (`ms ` is a timer
 *   without the `>= 0` check); an empty type (`a:1|`) is a counter;
 * - the sample rate is the leading `[0-9.]+` of `@…` once the whole of it
 *   passed as a number (`@1e-1` samples at 1). Where Etsy then throws (a rate
 *   such as `@Infinity` or `@ 1`, which kills Etsy's daemon) the line is bad;
 * - `name:1|c:2|c` carries two values for one name;
 * - tags become part of the name: `a:1|c|#k:v,x` is `a;k=v;x`.
 */

/** Receives what the parser finds; {@link MetricStore} is the real one. */
export interface MetricSink {
  /** A non-empty line was seen (Etsy's `metrics_received`). */
  line(): void;
  counter(key: string, value: number, sampleRate: number): void;
  timer(key: string, value: number, sampleRate: number): void;
  gauge(key: string, value: number, delta: boolean): void;
  set(key: string, member: string): void;
  /** One bad value (Etsy counts per value, not per line). */
  bad(line: string, reason: string): void;
}

// [a-zA-Z0-9_\-.;=] — the characters Etsy's sanitizer keeps
const KEEP = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[a-zA-Z_\-0-9.;=]/.test(ch)) KEEP[c] = 1;
}

/** Etsy's `sanitizeKeyName`: whitespace runs → `_`, `/` → `-`, drop everything outside `[a-zA-Z0-9_.;=-]`. */
export function sanitizeKey(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 128 || KEEP[c] === 0) {
      return key.replace(/\s+/g, '_').replace(/\//g, '-').replace(/[^a-zA-Z_\-0-9.;=]/g, '');
    }
  }
  return key;
}

/** Etsy's `isNumber`: non-empty and `Number()` of it is not NaN. Returns NaN when not a number. */
function toNumber(s: string): number {
  if (s.length === 0) return NaN;
  return Number(s);
}

const RATE_PREFIX = /^@([\d.]+)/;

/** Etsy's `isValidSampleRate` followed by its rate extraction; NaN when the line is bad. */
function sampleRateOf(f: string): number {
  if (f.length <= 1 || f.charCodeAt(0) !== 64 /* @ */) return NaN;
  const rest = f.substring(1);
  if (Number.isNaN(toNumber(rest)) || rest.charCodeAt(0) === 45 /* - */) return NaN;
  // fast path: plain decimal
  let plain = true;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46)) { plain = false; break; }
  }
  if (plain) return Number(rest);
  const m = RATE_PREFIX.exec(f);
  return m === null ? NaN : Number(m[1]);
}

function tagPart(tag: string): string {
  // Etsy: tag.replace(';', '_').replace(':', '=') — first occurrence of each only
  return tag.replace(';', '_').replace(':', '=');
}

/**
 * Parse one line (no newline) into the sink. Never throws on any input.
 * @param sanitize Etsy's `keyNameSanitize` (default true)
 */
export function parseLine(line: string, sink: MetricSink, sanitize = true): void {
  sink.line();
  const tagAt = line.indexOf('|#');
  const body = tagAt === -1 ? line : line.substring(0, tagAt);
  const colon = body.indexOf(':');
  let key = colon === -1 ? body : body.substring(0, colon);
  if (tagAt !== -1) {
    const next = line.indexOf('|#', tagAt + 2);
    const tags = next === -1 ? line.substring(tagAt + 2) : line.substring(tagAt + 2, next);
    if (tags.length > 0) {
      if (tags.indexOf(',') === -1) key += ';' + tagPart(tags);
      else key += ';' + tags.split(',').map(tagPart).join(';');
    }
  }
  if (sanitize) key = sanitizeKey(key);
  if (colon === -1) {
    // Etsy: no value means the value "1" with no type — a bad line
    sink.bad(line, 'no value');
    return;
  }
  let start = colon + 1;
  for (;;) {
    let end = body.indexOf(':', start);
    if (end === -1) end = body.length;
    parseValue(body, start, end, key, line, sink);
    if (end === body.length) break;
    start = end + 1;
  }
}

function parseValue(body: string, start: number, end: number, key: string, line: string, sink: MetricSink): void {
  const p1 = body.indexOf('|', start);
  if (p1 === -1 || p1 >= end) { sink.bad(line, 'no type'); return; }
  const f0 = body.substring(start, p1);
  let p2 = body.indexOf('|', p1 + 1);
  if (p2 >= end) p2 = -1;
  const f1 = body.substring(p1 + 1, p2 === -1 ? end : p2);
  let rate = 1;
  if (p2 !== -1) {
    let p3 = body.indexOf('|', p2 + 1);
    if (p3 === -1 || p3 >= end) p3 = end;
    rate = sampleRateOf(body.substring(p2 + 1, p3));
    if (Number.isNaN(rate)) { sink.bad(line, 'bad sample rate'); return; }
  }
  const v = toNumber(f0);
  // validation on the untrimmed type, as Etsy does
  if (f1 === 's') { sink.set(key, f0.length > 0 ? f0 : '0'); return; }
  if (Number.isNaN(v)) { sink.bad(line, 'bad value'); return; }
  if (f1 === 'ms' && v < 0) { sink.bad(line, 'negative timer'); return; }
  const type = f1.trim();
  switch (type) {
    case 'ms':
    case 'h':
    case 'd':
      sink.timer(key, v, rate);
      return;
    case 'g': {
      const c = f0.charCodeAt(0);
      sink.gauge(key, v, c === 43 /* + */ || c === 45 /* - */);
      return;
    }
    case 's':
      sink.set(key, f0.length > 0 ? f0 : '0');
      return;
    default:
      sink.counter(key, v, rate);
  }
}

/**
 * Parse a whole packet (several lines separated by `\n`); empty lines are
 * skipped as Etsy skips them.
 */
export function parsePacket(text: string, sink: MetricSink, sanitize = true): void {
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl;
    if (end > start) parseLine(text.substring(start, end), sink, sanitize);
    if (nl === -1) return;
    start = nl + 1;
  }
}
