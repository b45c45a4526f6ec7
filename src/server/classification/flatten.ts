/** Bounds of one flattened fact. */
const MAX_KEY = 256;
const MAX_VALUE = 1024;

/**
 * Facts as DesiredState carries them: scalar values as strings under dotted
 * keys (`os.release.major`), structured values walked `depth` levels deep,
 * lists and long values left out, at most `max` facts in all (the rest are
 * dropped: a node's facts run to thousands of values, the derived checks
 * need none of them). Used for PuppetDB facts and Chef's automatic attributes.
 */
export function flattenFacts(entries: Iterable<[string, unknown]>, max: number, into: Record<string, string> = {}, depth = 3): Record<string, string> {
  let n = Object.keys(into).length;
  const walk = (items: Iterable<[string, unknown]>, prefix: string, level: number): void => {
    for (const [k, v] of items) {
      if (n >= max) return;
      const key = prefix ? `${prefix}.${k}` : k;
      if (key.length > MAX_KEY) continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        const s = String(v);
        if (s.length <= MAX_VALUE && !(key in into)) { into[key] = s; n++; }
      } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && level < depth) walk(Object.entries(v), key, level + 1);
    }
  };
  walk(entries, '', 0);
  return into;
}
