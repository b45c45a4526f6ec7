import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { STATES } from '../../../../core/event.js';
import type { ApiContext } from '../../context.js';
import { isBlickError } from '../../../../core/errors.js';
import { RateLimitedLog } from '../../../../core/log.js';
import { parseQuery } from '../../query.js';
import { DEFAULT_STREAM_LIMITS, StreamBudget, type StreamLimits, type StreamSink } from './budget.js';
import { matches, StreamHub, type StreamFilter, type StreamItem } from './hub.js';

export { StreamHub, type StreamItem, type StreamKind } from './hub.js';
export { DEFAULT_STREAM_LIMITS, type StreamLimits } from './budget.js';

/** Comment lines keep proxies and load balancers from closing an idle stream. */
export const HEARTBEAT_SECONDS = 15;

const query = z.strictObject({
  /** globs (`web-*`, `disk ?`), like silences and rule matchers */
  host: z.string().max(1024).optional(),
  service: z.string().max(1024).optional(),
  state: z.enum(STATES).optional(),
  /** only these kinds, comma separated: event,check,alert,removed */
  kinds: z.string().regex(/^(event|check|alert|removed)(,(event|check|alert|removed))*$/, 'a comma-separated list of event, check, alert, removed').optional(),
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
  /** bounds on clients and their unsent bytes [DEFAULT_STREAM_LIMITS] */
  limits?: Partial<StreamLimits>;
  /** tokens are configured, so a request's token is verified and keys the per-client limit */
  auth?: boolean;
}

const frame = (it: StreamItem) => `id: ${it.id}\nevent: ${it.kind}\ndata: ${it.json}\n\n`;
const reset = (id: number, reason: string) => `id: ${id}\nevent: reset\ndata: ${JSON.stringify({ reason })}\n\n`;

/** Whom the per-client limit counts: the (verified) token, else the remote address. */
function clientKey(req: FastifyRequest, queryToken: string | undefined, auth: boolean): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token = auth ? bearer ?? queryToken : undefined;
  return token ? `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}` : `address:${req.ip}`;
}

/**
 * GET /api/v1/stream: Server-Sent Events of live events (`event`), check state
 * changes (`check`) and alert changes (`alert`), filtered by host, service and
 * state; `: heartbeat` comments every 15 s; resume with `Last-Event-ID` from a
 * bounded ring buffer (an `event: reset` tells a client that it missed more
 * than the buffer holds and must reload). Clients and their unsent bytes are
 * bounded by a {@link StreamBudget}: too many streams are refused with 429, a
 * client too far behind (or the slowest, when the total is over) is dropped.
 */
export const streamRoutes = (ctx: ApiContext, opts: StreamRoutesOptions = {}): FastifyPluginAsync => async (app) => {
  const limits: StreamLimits = { ...DEFAULT_STREAM_LIMITS, ...opts.limits };
  const trimmed = ctx.metrics.counter('blick_stream_history_trimmed_total', 'Items that left the resume buffer early because it held server.limits.stream_history_bytes');
  const hub = opts.hub ?? new StreamHub({ maxBytes: limits.historyBytes, onTrim: (n) => trimmed.inc(n) });
  ctx.metrics.gauge('blick_stream_history_bytes', 'About how many bytes the resume buffer of the live stream holds').collectWith(() => hub.bytes);
  const unsubscribe: (() => void)[] = [];
  if (!opts.hub) {
    unsubscribe.push(ctx.ingest.subscribe((i) => hub.onIngest(i)));
    unsubscribe.push(ctx.ingest.onRemoved((r) => hub.onRemoved(r)));
    const alerting = ctx.alerting;
    if (alerting) unsubscribe.push(alerting.onAlertChange((c) => hub.onAlerts(c, (a) => alerting.mutedBy(a))));
  }
  const warn = new RateLimitedLog(ctx.log);
  const dropped = ctx.metrics.counter('blick_stream_clients_dropped_total', 'Stream clients dropped because they fell too far behind (by reason: client_budget, total_budget)');
  const refused = ctx.metrics.counter('blick_stream_clients_refused_total', 'Stream requests refused because too many streams are open (by reason: clients, per_address)');
  const budget = new StreamBudget(limits, {
    onDrop: (reason, unsent) => {
      dropped.inc(1, { reason });
      warn.warn(`stream:drop:${reason}`, { reason, unsent, clients: budget.clients }, 'live stream client dropped: it fell too far behind (it resumes with Last-Event-ID)');
    },
    onRefuse: (reason) => { refused.inc(1, { reason }); },
  });
  /** each open stream's filter */
  const open = new Map<StreamSink, { res: ServerResponse; pass: (it: StreamItem) => boolean }>();
  ctx.metrics.gauge('blick_stream_clients', 'Clients connected to the live stream').collectWith(() => open.size);
  ctx.metrics.gauge('blick_stream_buffered_bytes', 'Bytes written to live stream clients and not yet sent').collectWith(() => budget.buffered());

  // one hub listener while any client is open, so the hub still goes dormant without clients
  let offHub: (() => void) | undefined;
  const fanOut = (items: StreamItem[]) => budget.fanOut((sink) => {
    const pass = open.get(sink)?.pass;
    let chunk = '';
    if (pass) for (const it of items) if (pass(it)) chunk += frame(it);
    return chunk;
  });

  app.addHook('preClose', async () => {
    for (const u of unsubscribe) u();
    offHub?.();
    for (const { res } of open.values()) res.end();
  });

  app.get('/stream', async (req, reply) => {
    const q = parseQuery(query, req.query);
    // HEAD has no body to stream: node would hold back the headers of a hijacked reply forever
    if (req.method === 'HEAD') return reply.code(200).header('cache-control', 'no-cache, no-transform').type('text/event-stream; charset=utf-8').send();
    const filter: StreamFilter = { host: q.host, service: q.service, state: q.state };
    const kinds = q.kinds ? new Set(q.kinds.split(',')) : undefined;
    const pass = (it: StreamItem) => (kinds === undefined || kinds.has(it.kind)) && matches(it, filter);
    const header = req.headers['last-event-id'];
    const lastRaw = typeof header === 'string' && /^\d+$/.test(header.trim()) ? Number(header.trim()) : q.lastEventId;

    const res = reply.raw;
    const sink: StreamSink = { get unsent() { return res.writableLength; }, write: (c) => { res.write(c); }, destroy: () => { res.destroy(); } };
    try {
      budget.admit(clientKey(req, q.token, opts.auth ?? false), sink);
    } catch (err) {
      if (!isBlickError(err, 'TOO_MANY_STREAMS')) throw err;
      // answered here: the API's error handler logs the URL, and with it a ?token=
      warn.warn('stream:refused', { error: err.message, clients: budget.clients }, 'live stream refused');
      return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    }
    reply.hijack();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    open.set(sink, { res, pass });
    offHub ??= hub.subscribe(fanOut);
    let out = `retry: 2000\n: blick live stream\n\n`;
    if (lastRaw === undefined) {
      out += `id: ${hub.next - 1}\nevent: hello\ndata: ${JSON.stringify({ id: hub.next - 1, heartbeat: q.heartbeat ?? HEARTBEAT_SECONDS })}\n\n`;
    } else {
      const { items, complete } = hub.since(lastRaw);
      let backlog = '', overflow = false;
      if (complete) {
        for (const it of items) {
          if (!pass(it)) continue;
          backlog += frame(it);
          // more than one client may hold (in characters, near enough): reload, as if the ring had lost it
          if (backlog.length > limits.clientBytes) { overflow = true; break; }
        }
      }
      if (!complete) out += reset(hub.next - 1, 'the items after the given Last-Event-ID are no longer buffered (or come from another server run); reload the state');
      else if (overflow) out += reset(hub.next - 1, 'the items after the given Last-Event-ID are more than one client may buffer (server.limits.stream_client_buffer_bytes); reload the state');
      else out += backlog;
    }
    budget.send(sink, out);

    const beat = setInterval(() => { budget.send(sink, `: heartbeat ${Date.now()}\n\n`); }, (q.heartbeat ?? HEARTBEAT_SECONDS) * 1000);
    beat.unref();
    const close = () => {
      clearInterval(beat);
      budget.release(sink);
      open.delete(sink);
      if (open.size === 0 && offHub) { offHub(); offHub = undefined; }
    };
    res.on('close', close);
    res.on('error', close);
  });
};
