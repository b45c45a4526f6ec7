/**
 * Shell-style globs, compiled once to a RegExp: `*` and `?` stay within one
 * path segment, `**` crosses segments, `[abc]` is a class. Used for unit names
 * (`*.service`), file paths (`/etc/nginx/**`) and interface names (`veth*`).
 *
 * @example globToRegExp('/etc/nginx/**').test('/etc/nginx/sites/a.conf') // true
 */
export function globToRegExp(glob: string, separator = '/'): RegExp {
  const sep = separator.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `dir/**` also matches `dir` itself; `**/` matches zero or more directories
        if (glob[i + 2] === separator) { re += `(?:.*${sep})?`; i += 2; } else { re += '.*'; i += 1; }
      } else re += `[^${sep}]*`;
    } else if (c === '?') re += `[^${sep}]`;
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else re += c.replace(/[\\^$.+()|{}\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when the string has glob characters (a plain name is matched exactly). */
export function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/** The part of a path glob before its first glob character, cut at a separator: `/etc/nginx/**` → `/etc/nginx`. */
export function globBase(glob: string): string {
  const m = /[*?[]/.exec(glob);
  if (!m) return glob;
  const prefix = glob.slice(0, m.index);
  const cut = prefix.lastIndexOf('/');
  return cut <= 0 ? '/' : prefix.slice(0, cut);
}

/** Matches a name against any of several globs (exact names are a Set lookup). */
export class GlobSet {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[] = [];
  constructor(globs: readonly string[], separator = '/') {
    for (const g of globs) {
      if (isGlob(g)) this.patterns.push(globToRegExp(g, separator));
      else this.exact.add(g);
    }
  }
  get empty(): boolean { return this.exact.size === 0 && this.patterns.length === 0; }
  has(name: string): boolean {
    if (this.exact.has(name)) return true;
    for (const p of this.patterns) if (p.test(name)) return true;
    return false;
  }
}
