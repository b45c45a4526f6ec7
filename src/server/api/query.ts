import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseDuration } from '../../core/duration.js';
import { BlickError } from '../../core/errors.js';
import { RateLimitedLog } from '../../core/log.js';
import type { ApiContext } from './context.js';
import { JsonPage } from '../store/page.js';

/** Validate a query string; a bad one is a 400 naming the parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const r = schema.safeParse(query ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      return `parameter ${i.path.join('.') || '?'}: ${i.message}`;
    }).join('; ');
    throw new BlickError('BAD_REQUEST', msg);
  }
  return r.data;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** An RFC 3339 date-time (1970 on) as unix ms, digits of the second beyond ms dropped; undefined when a field is out of range (Feb 31 is refused, not read as March 3). */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && !leap ? 28 : DAYS[mo - 1]!) || h > 23 || mi > 59 || s > 59) return undefined;
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]), om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const t = new Date(0); // setUTCFullYear, not Date.UTC, which reads years below 100 as 19xx
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, ms);
  const at = t.getTime() - offset;
  return at >= 0 ? at : undefined;
}

export const TIME_FORMATS = 'unix milliseconds (1764583200000), an RFC 3339 time (2026-12-01T10:00:00Z, 2026-12-01T11:00:00+01:00) or a duration before now (15m, 1h30m, 7d)';

/**
 * A point in time as the API takes it: unix ms, RFC 3339, or a duration before
 * `now` (`15m`, also written `-15m`); undefined for anything else. A bare number
 * is milliseconds here, not seconds as in config durations.
 */
export function parseTime(text: string, now: number): number | undefined {
  const s = text.trim();
  if (/^\d{1,16}$/.test(s)) { const n = Number(s); return Number.isSafeInteger(n) ? n : undefined; }
  if (/^\d{4}-/.test(s)) return parseRfc3339(s);
  const rel = /^-?(?=\d+(?:\.\d+)?(?:ms|s|m|h|d|w))(.+)$/.exec(s);
  if (!rel) return undefined;
  const d = parseDuration(rel[1]!);
  return d === undefined ? undefined : Math.max(0, Math.floor(now - d));
}

/** The zod type of every time parameter (`since=`): {@link parseTime} with the server's clock, read when the request is parsed. */
export function timeParam(now: () => number = Date.now) {
  return z.string().transform((s, c) => {
    const t = parseTime(s, now());
    if (t === undefined) { c.addIssue({ code: 'custom', message: `expected ${TIME_FORMATS}, got ${JSON.stringify(s.slice(0, 64))}` }); return z.NEVER; }
    return t;
  });
}

/** RFC 8288 Link header for the next page. */
export function linkHeader(path: string, query: Record<string, string>, cursor: string): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (k !== 'cursor' && typeof v === 'string') p.set(k, v);
  p.set('cursor', cursor);
  return `<${path}?${p.toString()}>; rel="next"`;
}

/** `limit` and `cursor` of the current-state lists (checks, hosts): everything by default. */
export const pagingKeys = {
  limit: z.coerce.number().int().min(1).max(100_000).default(100_000),
  cursor: z.string().regex(/^\d+$/, 'use the cursor of the previous page\'s Link header').optional(),
};

/** What bounds one API read (`server.limits`): page bytes, rows examined, milliseconds. */
export interface ReadLimits {
  /** a page ends before its JSON exceeds this many bytes [4 MiB] */
  maxPageBytes: number;
  /** rows a history query may examine per request [50,000] */
  queryScanRows: number;
  /** milliseconds a history query may run per request [50] */
  queryBudgetMs: number;
  /** points one GET /api/v1/series may answer [2,000] */
  seriesMaxPoints?: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxPageBytes: 4 * 1024 * 1024, queryScanRows: 50_000, queryBudgetMs: 50 };

/** The read bounds of one API (from `ctx.reads`), their counters, and a rate-limited note when one ends a page early. */
export function readBounds(ctx: Pick<ApiContext, 'metrics' | 'log' | 'reads'>) {
  const bytes = ctx.metrics.counter('blick_api_page_bytes_limited_total', 'API pages ended early at server.limits.max_page_bytes (by path)');
  const budget = ctx.metrics.counter('blick_query_budget_exhausted_total', 'history queries that spent their budget (server.limits.query_scan_rows / query_budget_ms) and answered a partial page with a next link (or a partial series)');
  const rows = ctx.metrics.counter('blick_query_rows_examined_total', 'history rows examined by API queries');
  const note = new RateLimitedLog(ctx.log);
  return {
    limits: ctx.reads ?? DEFAULT_READ_LIMITS,
    rows,
    /** Count (and note) why a page ended early. */
    stopped(path: string, why: 'bytes' | 'rows' | 'time' | undefined, query?: Record<string, unknown>): void {
      if (why === undefined) return;
      if (why === 'bytes') bytes.inc(1, { path });
      else budget.inc(1, { by: why });
      // the parsed query, not the URL: no credential reaches the log this way
      note.warn(`read:${path}:${why}`, { path, limit: why, ...(query ? { query } : {}) }, why === 'bytes' ? 'page ended at max_page_bytes; the client pages on' : 'query budget spent; answered a partial page with a next link');
    },
  };
}

export type ReadBounds = ReturnType<typeof readBounds>;

/**
 * One page of an in-memory list, with a Link header to the next, bounded by
 * `q.limit` items and by max_page_bytes of JSON (serialized here, once). The
 * cursor is a position: the lists are current state, re-sorted on every call,
 * so a page boundary may move by the items that changed in between.
 */
export function page<T>(list: T[], q: { limit: number; cursor?: string | undefined }, path: string, req: FastifyRequest, reply: FastifyReply, reads: ReadBounds): string {
  const from = q.cursor === undefined ? 0 : Number(q.cursor);
  const out = new JsonPage(reads.limits.maxPageBytes);
  const to = Math.min(list.length, from + q.limit);
  let i = from;
  while (i < to && out.add(list[i])) i++;
  if (i < to) reads.stopped(path, 'bytes');
  if (i < list.length) reply.header('Link', linkHeader(path, req.query as Record<string, string>, String(i)));
  reply.type('application/json; charset=utf-8');
  return out.text();
}
