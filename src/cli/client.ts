import { BlickError } from '../core/errors.js';
import { terminalSafe, terminalSafeJson } from '../core/terminal.js';
import { alertingCommand, call } from './alerts.js';
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
  if (cmd === 'hosts' && _args.length === 1 && _args[0] !== 'rm') return showHost(_args[0]!, flags);
  if ((cmd === 'hosts' || cmd === 'checks') && _args.length > 0) return lifecycleCommand(cmd, _args, flags);
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

/** `Service[demo] (/etc/puppet/site.pp:3)`, as docs/classification.md shows a derived check's origin. */
function origin(o: { resource?: string; file?: string; line?: number }): string {
  return `${o.resource ?? ''}${o.file === undefined ? '' : o.line === undefined ? ` (${o.file})` : ` (${o.file}:${o.line})`}`;
}

/** `blick hosts HOST`: one host, its checks, what each classification source says, and the derived checks with their origin. */
async function showHost(host: string, flags: Record<string, string | true>): Promise<void> {
  const h = await call(flags, 'GET', `/api/v1/hosts/${encodeURIComponent(host)}`);
  if (flags.json) { printJson(h); return; }
  const out: string[] = [`host ${terminalSafe(h.host)}: ${h.state ?? 'no checks'}, last seen ${when(h.last_seen) || 'never'}`];
  const checks = (h.checks_detail ?? []) as Record<string, unknown>[];
  out.push('', `checks (${checks.length})`, table(checks.map((c) => ({ ...c, last_change: when(c.last_change) })), ['service', 'state', 'metric', 'description', 'last_change']).trimEnd());
  for (const c of (h.classification ?? []) as { source: string; origin: { catalog?: string; version?: string; environment?: string }; classes: string[]; roles: string[]; resources: unknown[]; updated: number }[]) {
    const o = [c.origin.catalog, c.origin.version && `version ${c.origin.version}`, c.origin.environment].filter(Boolean).join(', ');
    out.push('', terminalSafe(`classification from ${c.source}${o ? ` (${o})` : ''}, updated ${when(c.updated)}: ${c.resources.length} resource(s)`));
    if (c.classes.length) out.push(terminalSafe(`  classes: ${c.classes.join(', ')}`));
    if (c.roles.length) out.push(terminalSafe(`  roles: ${c.roles.join(', ')}`));
  }
  const derived = (h.derived ?? []) as { service: string; kind: string; origin: { source: string; version?: string; resource: string; file?: string; line?: number } }[];
  out.push('', `derived checks (${derived.length})`);
  // not a table: the origin is never cut, its file:line is the point
  const w = Math.max(0, ...derived.map((d) => d.service.length));
  const k = Math.max(0, ...derived.map((d) => d.kind.length));
  for (const d of derived) out.push(terminalSafe(`  ${d.service.padEnd(w)}  ${d.kind.padEnd(k)}  ${origin(d.origin)}  ${[d.origin.source, d.origin.version].filter(Boolean).join(' ')}`));
  process.stdout.write(out.join('\n') + '\n');
}

const USAGE_LIFECYCLE = 'usage: blick hosts rm HOST | blick checks rm HOST SERVICE | blick checks resolve HOST SERVICE [--reason TEXT] [--author A]';

/** `blick hosts rm`, `blick checks rm|resolve`: change an entity through the API. */
async function lifecycleCommand(cmd: 'hosts' | 'checks', args: string[], flags: Record<string, string | true>): Promise<void> {
  const [sub, host, service] = args;
  const path = (...p: string[]) => `/api/v1/${cmd}/${p.map(encodeURIComponent).join('/')}`;
  let out: any;
  if (sub === 'rm' && cmd === 'hosts' && host && args.length === 2) out = await call(flags, 'DELETE', path(host));
  else if (sub === 'rm' && cmd === 'checks' && host && service && args.length === 3) out = await call(flags, 'DELETE', path(host, service));
  else if (sub === 'resolve' && cmd === 'checks' && host && service && args.length === 3) {
    const body: Record<string, string> = {};
    for (const k of ['reason', 'author'] as const) if (typeof flags[k] === 'string') body[k] = flags[k] as string;
    out = await call(flags, 'POST', `${path(host, service)}/resolve`, body);
  } else throw new BlickError('USAGE', USAGE_LIFECYCLE);
  if (flags.json) { printJson(out); return; }
  if (sub === 'resolve') process.stdout.write(`resolved ${terminalSafe(host!)} ${terminalSafe(service!)}\n`);
  else process.stdout.write(`removed ${terminalSafe(host!)}${service ? ' ' + terminalSafe(service) : ''} (${(out.deleted as string[]).length} check(s); history kept until retention)\n`);
}
