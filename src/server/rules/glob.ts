/**
 * Shell-style globs for rule, route and silence matchers: `*` any run of
 * characters, `?` one character, everything else literal (case-sensitive).
 */
export type Matcher = (value: string) => boolean;

const cache = new Map<string, Matcher>();

/** Compile one glob; `*` alone matches everything without a regular expression. */
export function glob(pattern: string): Matcher {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let m: Matcher;
  if (pattern === '*') m = () => true;
  else if (!/[*?]/.test(pattern)) m = (v) => v === pattern;
  else {
    const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
    m = (v) => re.test(v);
  }
  if (cache.size < 10_000) cache.set(pattern, m);
  return m;
}

/** A value matches when any of the globs matches. */
export function anyGlob(patterns: string | readonly string[]): Matcher {
  const list = (typeof patterns === 'string' ? [patterns] : patterns).map(glob);
  if (list.length === 1) return list[0]!;
  return (v) => list.some((m) => m(v));
}
