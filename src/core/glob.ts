/**
 * Shell-style globs for rule, route, silence and stream matchers: `*` any run
 * of characters, `?` one character, everything else literal (case-sensitive).
 *
 * Patterns come from the API (silences, stream filters), so matching must not
 * depend on the pattern's shape: a regular expression built from `*a*a*a*b`
 * backtracks exponentially on a long service name. Here a star only remembers
 * where to resume, which bounds a match by pattern length × value length.
 */
export type Matcher = (value: string) => boolean;

const cache = new Map<string, Matcher>();

/** Compile one glob; `*` alone matches everything, a glob without wildcards is a string compare. */
export function glob(pattern: string): Matcher {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let m: Matcher;
  const stars = pattern.split('*').length - 1;
  if (pattern === '*') m = () => true;
  else if (!isGlob(pattern)) m = (v) => v === pattern;
  else if (stars === 1 && !pattern.includes('?')) {
    // the usual shapes, `disk *` and `*.service`: a prefix and a suffix
    const at = pattern.indexOf('*');
    const prefix = pattern.slice(0, at), suffix = pattern.slice(at + 1);
    m = (v) => v.length >= prefix.length + suffix.length && v.startsWith(prefix) && v.endsWith(suffix);
  } else if (stars === 2 && pattern.startsWith('*') && pattern.endsWith('*') && !pattern.includes('?')) {
    const part = pattern.slice(1, -1);
    m = (v) => v.includes(part);
  } else m = (v) => wildcardMatch(pattern, v);
  if (cache.size < 10_000) cache.set(pattern, m);
  return m;
}

/** Whether a filter value has wildcards (else it names one value exactly). */
export function isGlob(pattern: string | undefined): boolean {
  return pattern !== undefined && /[*?]/.test(pattern);
}

/** A value matches when any of the globs matches. */
export function anyGlob(patterns: string | readonly string[]): Matcher {
  const list = (typeof patterns === 'string' ? [patterns] : patterns).map(glob);
  if (list.length === 1) return list[0]!;
  return (v) => list.some((m) => m(v));
}

/**
 * Whether `value` matches `pattern` as a whole. On a mismatch after a star,
 * the star takes one more character and matching resumes behind it; earlier
 * stars never need to be revisited, because a later star can absorb anything
 * they would have.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  let p = 0, v = 0;
  let star = -1, resume = 0;
  while (v < value.length) {
    const c = pattern.charCodeAt(p);
    if (p < pattern.length && c !== 42 /* * */ && (c === 63 /* ? */ || c === value.charCodeAt(v))) { p++; v++; }
    else if (p < pattern.length && c === 42) { star = p++; resume = v; }
    else if (star >= 0) { p = star + 1; v = ++resume; }
    else return false;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}
