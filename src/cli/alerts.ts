import { userInfo } from 'node:os';
import { parseDuration } from '../core/duration.js';
import { BlickError } from '../core/errors.js';
import { printJson, table, when } from './client.js';
import { cliRequest, type CliResponse } from './http.js';
import { terminalSafe } from '../core/terminal.js';
import { clientTarget } from './target.js';

type Flags = Record<string, string | true>;

async function call(flags: Flags, method: string, path: string, body?: unknown): Promise<any> {
  return (await respond(flags, method, path, body)).out;
}

/** The parsed body and the response (for its headers). */
async function respond(flags: Flags, method: string, path: string, body?: unknown): Promise<{ out: any; res: CliResponse }> {
  const { base, token, ca } = clientTarget(flags);
  const headers: Record<string, string> = typeof token === 'string' ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: CliResponse;
  try {
    res = await cliRequest(base + path, { method, headers, ca, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new BlickError('BAD_REQUEST', `cannot reach the Blick server at ${base} (${(err as { cause?: Error }).cause?.message ?? (err as Error).message}); set --url or BLICK_URL`);
  }
  const out = await res.json().catch(() => null) as any;
  if (!res.ok) {
    const msg = out?.error?.message ?? `HTTP ${res.status}`;
    throw new BlickError(res.status === 401 ? 'AUTH_REQUIRED' : res.status === 403 ? 'AUTH_FORBIDDEN' : res.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', `${method} ${path}: ${msg}`);
  }
  return { out, res };
}

const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);

/** `blick alerts` and `blick silence add|list|rm` against the server's API. */
export async function alertingCommand(cmd: 'alerts' | 'silence', args: string[], flags: Flags): Promise<void> {
  const print = (rows: any[], columns: string[]) => {
    if (flags.json) printJson(rows);
    else process.stdout.write(table(rows.map((r) => ({ ...r, startsAt: when(r.startsAt), endsAt: when(r.endsAt), matchers: r.matchers ? Object.entries(r.matchers).map(([k, v]) => `${k}=${v}`).join(' ') : undefined })), columns));
  };
  if (cmd === 'alerts') {
    const q = new URLSearchParams();
    for (const k of ['status', 'host', 'rule']) { const v = str(flags[k]); if (v) q.set(k, v); }
    const { out: rows, res } = await respond(flags, 'GET', `/api/v1/alerts${q.size ? `?${q.toString()}` : ''}`);
    print(rows, ['status', 'severity', 'rule', 'host', 'service', 'startsAt', 'endsAt', 'muted', 'description']);
    // on stderr, so --json output stays the list
    if (res.header('x-blick-rules') === '0') process.stderr.write('blick alerts: no alert rules are configured on this server (server.rules), so none can fire\n');
    return;
  }
  const sub = args[0];
  switch (sub) {
    case 'add': {
      const matchers: Record<string, string> = {};
      for (const k of ['host', 'service', 'rule', 'severity']) { const v = str(flags[k]); if (v) matchers[k] = v; }
      if (Object.keys(matchers).length === 0) throw new BlickError('BAD_REQUEST', 'blick silence add needs --host (and/or --service, --rule, --severity)');
      const dur = str(flags.for);
      if (!dur || !parseDuration(dur)) throw new BlickError('BAD_REQUEST', 'blick silence add needs --for DURATION (e.g. 2h)');
      const reason = str(flags.reason);
      if (!reason) throw new BlickError('BAD_REQUEST', 'blick silence add needs --reason TEXT');
      let author = str(flags.author);
      if (!author) { try { author = userInfo().username; } catch { author = 'cli'; } }
      const s = await call(flags, 'POST', '/api/v1/silences', { matchers, duration: dur, reason, author });
      if (flags.json) printJson(s);
      else process.stdout.write(`${terminalSafe(String(s.id))}\n`);
      return;
    }
    case 'list': case undefined:
      print(await call(flags, 'GET', '/api/v1/silences'), ['id', 'status', 'matchers', 'startsAt', 'endsAt', 'author', 'reason']);
      return;
    case 'rm': {
      const id = args[1];
      if (!id) throw new BlickError('BAD_REQUEST', 'usage: blick silence rm ID');
      const s = await call(flags, 'DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
      if (flags.json) printJson(s);
      else process.stdout.write(`expired ${terminalSafe(String(s.id))}\n`);
      return;
    }
    default:
      throw new BlickError('BAD_REQUEST', `unknown subcommand "blick silence ${sub}" (add, list, rm)`);
  }
}
