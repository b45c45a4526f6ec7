import { createHash } from 'node:crypto';
import type { LineOrigin } from '../tail.js';

/** One entry of a MySQL/MariaDB slow query log. */
export interface SlowQuery {
  /** unix ms, from `SET timestamp=` (else `# Time:`), else undefined */
  time?: number | undefined;
  user: string;
  host: string;
  ip: string;
  /** `use db;` or MariaDB's `Schema:` */
  schema: string;
  queryTime: number;
  lockTime: number;
  rowsSent: number;
  rowsExamined: number;
  /** every other `# Key: value` pair of the header (Thread_id, Rows_affected, Bytes_sent, Errno, …) */
  extra: Record<string, string>;
  /** the statement as logged, without the trailing `;` */
  query: string;
  /** pt-query-digest style: literals replaced by `?`, whitespace collapsed, lower case */
  fingerprint: string;
  /** pt-query-digest's checksum: the last 16 hex digits of md5(fingerprint), upper case */
  checksum: string;
  /** where the entry's first line came from, when the lines were given with their origins */
  origin?: LineOrigin | undefined;
}

interface Pending {
  time?: number | undefined;
  user: string; host: string; ip: string; schema: string;
  fields: Record<string, string>;
  query: string[];
  /** header lines seen (an entry without any header is a fragment, e.g. we started mid-entry) */
  headers: number;
  origin?: LineOrigin | undefined;
}

const MAX_QUERY = 64 * 1024;
const USER_HOST = /^# User@Host: (\S*?)\[([^\]]*)\] @ ?(\S*) \[([^\]]*)\](?:\s+Id:\s+(\d+))?/;
const PAIR = /([A-Za-z_]+):(?: +(?![A-Za-z_]+:)(\S+))?/g;

/**
 * Parses the slow query log line by line. An entry is complete when the next
 * entry's header starts, or — at the end of what has been read so far
 * ({@link endOfInput}) — when its statement ends with `;` (the server always
 * writes `;\n` after the statement). So a torn entry at the end of the file
 * waits for the rest.
 *
 * @example const p = new SlowLogParser((q) => console.log(q.queryTime, q.fingerprint)); lines.forEach((l) => p.line(l)); p.endOfInput();
 */
export class SlowLogParser {
  private cur: Pending | undefined;
  private inQuery = false;

  constructor(private readonly onEntry: (q: SlowQuery) => void) {}

  /** The next line of the log; `origin` (from the tail) is kept for the entry that begins at it. */
  line(line: string, origin?: LineOrigin): void {
    if (line.startsWith('# ')) {
      if (line.startsWith('# Time: ')) {
        this.begin(origin);
        this.cur!.time = parseTimeHeader(line.slice(8));
        this.cur!.headers++;
        return;
      }
      const uh = USER_HOST.exec(line);
      if (uh) {
        // MariaDB omits `# Time:` when it has not changed since the previous entry
        if (!this.cur || this.cur.query.length > 0 || this.cur.user || this.cur.fields.Query_time !== undefined) this.begin(origin);
        const c = this.cur!;
        c.user = uh[1] || uh[2] || '';
        c.host = uh[3] ?? '';
        c.ip = uh[4] ?? '';
        if (uh[5]) c.fields.Id = uh[5];
        c.headers++;
        return;
      }
      if (this.cur && this.cur.query.length === 0) {
        this.cur.headers++;
        PAIR.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = PAIR.exec(line)) !== null) this.cur.fields[m[1]!] = m[2] ?? '';
        return;
      }
      // a `#` line inside a statement is part of it (a comment); fall through
    }
    const c = this.cur;
    if (!c) return; // the server's start-up banner, or the tail of an entry we did not see begin
    if (!this.inQuery) {
      const use = /^use ([^;]+);$/i.exec(line);
      if (use) { c.schema = use[1]!.replace(/^`|`$/g, ''); return; }
      const ts = /^SET timestamp=(\d+);$/.exec(line);
      if (ts) { c.time = Number(ts[1]) * 1000; return; }
      if (c.query.length === 0 && /^(\/\S+, Version: |Tcp port: |Time\s+Id\s+Command)/.test(line)) return;
      this.inQuery = true;
    }
    if (c.query.reduce((n, l) => n + l.length, 0) < MAX_QUERY) c.query.push(line);
  }

  /** Everything available has been read: complete the pending entry if its statement looks complete. */
  endOfInput(): void {
    const c = this.cur;
    if (!c) return;
    for (let i = c.query.length - 1; i >= 0; i--) {
      const l = c.query[i]!.trimEnd();
      if (l === '') continue;
      if (l.endsWith(';')) this.finish();
      return;
    }
  }

  /** The file ended for good (rotated away): complete whatever is pending. */
  flush(): void {
    if (this.cur && this.cur.query.length > 0) this.finish();
    this.cur = undefined;
    this.inQuery = false;
  }

  /** Where the entry still waiting for its end began (undefined when none is pending). */
  pendingOrigin(): LineOrigin | undefined {
    return this.cur?.origin;
  }

  private begin(origin?: LineOrigin): void {
    if (this.cur && this.cur.query.length > 0) this.finish();
    this.cur = { user: '', host: '', ip: '', schema: '', fields: {}, query: [], headers: 0, origin };
    this.inQuery = false;
  }

  private finish(): void {
    const c = this.cur!;
    this.cur = undefined;
    this.inQuery = false;
    if (c.headers === 0) return;
    const query = c.query.join('\n').trim().replace(/;\s*$/, '');
    const { Query_time, Lock_time, Rows_sent, Rows_examined, Schema, ...extra } = c.fields;
    const fp = fingerprint(query);
    this.onEntry({
      time: c.time,
      user: c.user, host: c.host, ip: c.ip,
      schema: c.schema || Schema || '',
      queryTime: num(Query_time), lockTime: num(Lock_time), rowsSent: num(Rows_sent), rowsExamined: num(Rows_examined),
      extra,
      query,
      fingerprint: fp,
      checksum: checksum(fp),
      origin: c.origin,
    });
  }
}

function num(s: string | undefined): number {
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
}

/** `2024-03-01T10:15:42.123456Z` (MySQL 5.7+) or `240301 10:15:42` (MariaDB, MySQL 5.6, local time). */
export function parseTimeHeader(s: string): number | undefined {
  const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:\d\d)?/.exec(s.trim());
  if (iso) { const t = Date.parse(iso[1]! + (iso[2] ?? 'Z')); return Number.isFinite(t) ? t : undefined; }
  const old = /^(\d\d)(\d\d)(\d\d)\s+(\d{1,2}):(\d\d):(\d\d)/.exec(s.trim());
  if (old) {
    const t = new Date(2000 + Number(old[1]), Number(old[2]) - 1, Number(old[3]), Number(old[4]), Number(old[5]), Number(old[6])).getTime();
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}

/**
 * The shape of a statement, as pt-query-digest computes it: comments removed,
 * quoted strings and numbers replaced by `?`, `IN (?, ?)` and multi-row
 * `VALUES (…), (…)` folded, whitespace collapsed, lower case.
 *
 * @example fingerprint("SELECT * FROM t WHERE id IN (1, 2) AND n = 'x'") // "select * from t where id in(?+) and n = ?"
 */
export function fingerprint(query: string): string {
  let q = query;
  if (/^\s*use\s/i.test(q)) return 'use ?';
  q = q
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^'\\]|\\[\s\S]|'')*'/g, '?')
    .replace(/"(?:[^"\\]|\\[\s\S]|"")*"/g, '?')
    .replace(/(?:--\s|#)[^\n]*/g, ' ')
    .toLowerCase()
    .replace(/\b0x[0-9a-f]+\b/g, '?')
    .replace(/(?<![\w$`.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w$])/g, '?')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/;$/, '')
    .replace(/\bnull\b/g, '?')
    .replace(/\bin\s*\(\s*\?(?:\s*,\s*\?)*\s*\)/g, 'in(?+)')
    .replace(/\b(values?)\s*\((?:[^()]|\([^()]*\))*\)(?:\s*,\s*\((?:[^()]|\([^()]*\))*\))*/g, '$1(?+)')
    .replace(/\blimit \?(?:\s*,\s*\?| offset \?)?/g, 'limit ?');
  return q.trim();
}

/** pt-query-digest's query checksum: last 16 hex digits of md5(fingerprint), upper case. */
export function checksum(fp: string): string {
  return createHash('md5').update(fp).digest('hex').slice(-16).toUpperCase();
}
