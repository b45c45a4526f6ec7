import { BlickError } from '../core/errors.js';
import { terminalSafe, terminalSafeJson } from '../core/terminal.js';
import { alertingCommand } from './alerts.js';
import { followEvents } from './follow.js';
import { getPages } from './pages.js';
import { clientTarget } from './target.js';

/** Columns that name a thing: never cut, or two long names sharing a prefix would print alike. */
const NAMES = new Set(['host', 'service', 'rule', 'id', 'matchers']);

/** A table for a terminal; cells are {@link terminalSafe} (event text may hold escape sequences). Free text beyond 60 characters ends in `…`. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown) => terminalSafe(v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > widths[i]! && !NAMES.has(columns[i]!) ? v.slice(0, widths[i]! - 1) + '…' : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n') + '\n';
}

/** `--json` output: pretty JSON whose strings cannot drive a terminal. */
export function printJson(value: unknown): void {
  process.stdout.write(terminalSafeJson(JSON.stringify(value, null, 2)) + '\n');
}

export function when(ms: unknown): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

/** `blick events|hosts|checks`: read the server's API; tables on a terminal, `--json` for scripts. */
export async function clientCommand(cmd: string, _args: string[], flags: Record<string, string | true>): Promise<void> {
  if (cmd === 'alerts' || cmd === 'silence') return alertingCommand(cmd, _args, flags);
  const { base, token, ca } = clientTarget(flags);
  if (cmd === 'events' && flags.follow) {
    // the stream has no history to start from: say so rather than ignore the flag
    for (const k of ['since', 'limit']) if (flags[k] !== undefined) throw new BlickError('USAGE', `--${k} does not apply to --follow, which prints events as they arrive (see blick events --help)`);
    return followEvents(base, token, flags, process.stdout, process.stderr, ca);
  }
  if (flags.limit !== undefined && !(typeof flags.limit === 'string' && /^[1-9]\d{0,8}$/.test(flags.limit))) {
    throw new BlickError('USAGE', `--limit needs a whole number from 1 (got ${flags.limit === true ? 'nothing' : JSON.stringify(flags.limit)})`);
  }
  const params = new URLSearchParams();
  for (const k of ['host', 'service', 'state', 'limit', 'since']) if (typeof flags[k] === 'string') params.set(k, flags[k] as string);
  // events: --limit of them (the server's default 100); hosts and checks: all of them
  const want = cmd === 'events' ? Number(params.get('limit') ?? 100) : Infinity;
  const body = await getPages(base, `/api/v1/${cmd}${params.size ? '?' + params.toString() : ''}`, typeof token === 'string' ? { authorization: `Bearer ${token}` } : {}, want, ca);
  if (flags.json) { printJson(body); return; }
  const rows = (body as Record<string, unknown>[]).map((r) => ({ ...r, time: when(r.time), last_change: when(r.last_change), last_seen: when(r.last_seen) }));
  const columns = cmd === 'hosts' ? ['host', 'state', 'checks', 'metrics', 'last_seen']
    : cmd === 'checks' ? ['host', 'service', 'state', 'metric', 'description', 'last_change']
    : ['time', 'host', 'service', 'state', 'metric', 'description'];
  process.stdout.write(table(rows, columns));
}
