import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { STATES } from '../../../../core/event.js';
import type { ApiContext } from '../../context.js';
import { parseQuery } from '../../query.js';
import { matches, StreamHub, type StreamFilter, type StreamItem } from './hub.js';

export { StreamHub, type StreamItem, type StreamKind } from './hub.js';

/** Comment lines keep proxies and load balancers from closing an idle stream. */
export const HEARTBEAT_SECONDS = 15;
/** A client that falls this far behind is dropped; it resumes with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

const query = z.strictObject({
  /** globs (`web-*`, `disk ?`), like silences and rule matchers */
  host: z.string().max(1024).optional(),
  service: z.string().max(1024).optional(),
  state: z.enum(STATES).optional(),
  /** only these kinds, comma separated: event,check,alert */
  kinds: z.string().regex(/^(event|check|alert)(,(event|check|alert))*$/, 'a comma-separated list of event, check, alert').optional(),
  /** heartbeat interval in seconds [15] (shorter for proxies with short idle timeouts) */
  heartbeat: z.coerce.number().min(1).max(300).optional(),
  /** resume point for clients that cannot send the Last-Event-ID header */
  lastEventId: z.coerce.number().int().nonnegative().optional(),
  /** EventSource cannot send headers: the token may come here (see auth.ts) */
  token: z.string().optional(),
});

export interface StreamRoutesOptions {
  /** the hub to publish from; default: one fed by ctx.ingest and ctx.alerting */
  hub?: StreamHub;
}

const frame = (it: StreamItem) => `id: ${it.id}\nevent: ${it.kind}\ndata: ${it.json}\n\n`;

/**
 * GET /api/v1/stream: Server-Sent Events of live events (`event`), check state
 * changes (`check`) and alert changes (`alert`), filtered by host, service and
 * state; `: heartbeat` comments every 15 s; resume with `Last-Event-ID` from a
 * bounded ring buffer (an `event: reset` tells a client that it missed more
 * than the buffer holds and must reload).
 */
export const streamRoutes = (ctx: ApiContext, opts: StreamRoutesOptions = {}): FastifyPluginAsync => async (app) => {
  const hub = opts.hub ?? new StreamHub();
  const unsubscribe: (() => void)[] = [];
  if (!opts.hub) {
    unsubscribe.push(ctx.ingest.subscribe((i) => hub.onIngest(i)));
    const alerting = ctx.alerting;
    if (alerting) unsubscribe.push(alerting.onAlertChange((c) => hub.onAlerts(c, (a) => alerting.mutedBy(a))));
  }
  const open = new Set<ServerResponse>();
  ctx.metrics.gauge('blick_stream_clients', 'Clients connected to the live stream').collectWith(() => open.size);
  const dropped = ctx.metrics.counter('blick_stream_clients_dropped_total', 'Stream clients dropped because they fell too far behind');

  app.addHook('preClose', async () => {
    for (const u of unsubscribe) u();
    for (const res of open) res.end();
  });

  app.get('/stream', async (req, reply) => {
    const q = parseQuery(query, req.query);
    const filter: StreamFilter = { host: q.host, service: q.service, state: q.state };
    const kinds = q.kinds ? new Set(q.kinds.split(',')) : undefined;
    const pass = (it: StreamItem) => (kinds === undefined || kinds.has(it.kind)) && matches(it, filter);
    const header = req.headers['last-event-id'];
    const lastRaw = typeof header === 'string' && /^\d+$/.test(header.trim()) ? Number(header.trim()) : q.lastEventId;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    open.add(res);
    let out = `retry: 2000\n: blick live stream\n\n`;
    if (lastRaw === undefined) {
      out += `id: ${hub.next - 1}\nevent: hello\ndata: ${JSON.stringify({ id: hub.next - 1, heartbeat: q.heartbeat ?? HEARTBEAT_SECONDS })}\n\n`;
    } else {
      const { items, complete } = hub.since(lastRaw);
      if (!complete) out += `id: ${hub.next - 1}\nevent: reset\ndata: ${JSON.stringify({ reason: 'the items after the given Last-Event-ID are no longer buffered (or come from another server run); reload the state' })}\n\n`;
      else for (const it of items) if (pass(it)) out += frame(it);
    }
    res.write(out);

    const listener = (items: StreamItem[]) => {
      let chunk = '';
      for (const it of items) if (pass(it)) chunk += frame(it);
      if (chunk === '') return;
      res.write(chunk);
      if (res.writableLength > MAX_BUFFERED_BYTES) { dropped.inc(); res.end(); }
    };
    const off = hub.subscribe(listener);
    const beat = setInterval(() => { res.write(`: heartbeat ${Date.now()}\n\n`); }, (q.heartbeat ?? HEARTBEAT_SECONDS) * 1000);
    beat.unref();
    const close = () => { off(); clearInterval(beat); open.delete(res); };
    res.on('close', close);
    res.on('error', close);
  });
};
