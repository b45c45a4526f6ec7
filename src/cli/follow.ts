import { BlickError } from '../core/errors.js';
import { terminalSafe, terminalSafeJson } from '../core/terminal.js';
import { when } from './client.js';
import { cliRequest, type CliResponse } from './http.js';

type Flags = Record<string, string | true>;

/** One frame of a Server-Sent Events stream. */
export interface SseFrame { id?: string; event: string; data: string }

/** Characters of one unfinished frame a client holds; beyond, the stream is treated as broken (and resumed). */
export const MAX_SSE_FRAME_CHARS = 16 * 1024 * 1024;

/** Split SSE text into frames; returns the frames and the unfinished rest. */
export function parseSse(buf: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = [];
  let i: number;
  // a final \r may be the first half of a \r\n split across chunks: decide on it with the next chunk
  const cr = buf.endsWith('\r');
  buf = (cr ? buf.slice(0, -1) : buf).replace(/\r\n?/g, '\n');
  while ((i = buf.indexOf('\n\n')) >= 0) {
    const block = buf.slice(0, i);
    buf = buf.slice(i + 2);
    const f: SseFrame = { event: 'message', data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
      if (field === 'id') f.id = value;
      else if (field === 'event') f.event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0 && f.id === undefined) continue;
    f.data = data.join('\n');
    frames.push(f);
  }
  if (buf.length > MAX_SSE_FRAME_CHARS) throw new BlickError('BAD_REQUEST', `the live stream sent a frame longer than ${MAX_SSE_FRAME_CHARS} characters`);
  return { frames, rest: cr ? buf + '\r' : buf };
}

/** Bytes of an event stream in, frames out, the same however the bytes were split. */
export class SseDecoder {
  private readonly text = new TextDecoder();
  private rest = '';

  push(chunk: Uint8Array): SseFrame[] {
    const p = parseSse(this.rest + this.text.decode(chunk, { stream: true }));
    this.rest = p.rest;
    return p.frames;
  }
}

const COLS = ['time', 'host', 'service', 'state', 'metric', 'description'];
/** Widest a column grows to fit the names seen so far; a longer name is still printed whole. */
const MAX_WIDTH = 60;

/**
 * Rows of a live table whose columns cannot be measured in advance. Names are
 * never cut (two services that share a long prefix must not print the same):
 * a column widens to the longest value seen, up to MAX_WIDTH, so later rows
 * line up again; the last column is never padded.
 */
export function liveTable(): (vals: string[]) => string {
  const widths = [20, 18, 26, 8, 10, 0];
  return (vals) => vals.map((raw, i) => {
    const v = terminalSafe(raw);
    if (i === vals.length - 1) return v;
    if (v.length > widths[i]!) widths[i] = Math.min(MAX_WIDTH, v.length);
    return v.padEnd(widths[i]!);
  }).join('  ').trimEnd() + '\n';
}

/**
 * `blick events --follow`: the live stream (GET /api/v1/stream?kinds=event)
 * printed as it arrives — a table on a terminal, one JSON object per line
 * with --json. Reconnects with Last-Event-ID after a drop, so nothing is lost
 * across a server restart shorter than its buffer.
 */
export async function followEvents(base: string, token: string | undefined, flags: Flags, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr, ca?: Buffer): Promise<void> {
  const params = new URLSearchParams({ kinds: 'event' });
  for (const k of ['host', 'service', 'state']) if (typeof flags[k] === 'string') params.set(k, flags[k] as string);
  const url = `${base}/api/v1/stream?${params.toString()}`;
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  const line = liveTable();
  if (!flags.json) out.write(line(COLS.map((c) => c.toUpperCase())));
  let lastId: string | undefined;
  let connectedOnce = false;
  for (let attempt = 0; ; attempt++) {
    let res: CliResponse;
    try {
      res = await cliRequest(url, { headers: lastId ? { ...headers, 'last-event-id': lastId } : headers, ca });
    } catch (e) {
      const why = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
      if (!connectedOnce) throw new BlickError('BAD_REQUEST', `cannot reach the Blick server at ${base} (${why}); set --url or BLICK_URL`);
      err.write(`blick events: connection lost (${why}); reconnecting…\n`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** Math.min(attempt, 4))));
      continue;
    }
    if (!res.ok) {
      const body = await res.json().catch(() => null) as { error?: { message?: string } } | null;
      const msg = body?.error?.message ?? `HTTP ${res.status}`;
      throw new BlickError(res.status === 401 ? 'AUTH_REQUIRED' : res.status === 403 ? 'AUTH_FORBIDDEN' : 'BAD_REQUEST', `${base}/api/v1/stream: ${msg}`);
    }
    connectedOnce = true;
    attempt = 0;
    const dec = new SseDecoder();
    try {
      for await (const chunk of res.body) {
        for (const f of dec.push(chunk)) {
          if (f.id !== undefined) lastId = f.id;
          if (f.event === 'reset') err.write('blick events: the server no longer holds everything missed while disconnected; continuing with new events\n');
          if (f.event !== 'event') continue;
          if (flags.json) { out.write(terminalSafeJson(f.data) + '\n'); continue; }
          const e = JSON.parse(f.data) as Record<string, unknown>;
          out.write(line([when(e.time), String(e.host), String(e.service), String(e.state ?? ''), e.metric === undefined || e.metric === null ? '' : String(e.metric), String(e.description ?? '')]));
        }
      }
    } catch { /* the connection dropped: resume */ }
    err.write('blick events: stream ended; reconnecting…\n');
    await new Promise((r) => setTimeout(r, 500));
  }
}
