import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BlickError } from '../../../../core/errors.js';
import { makeEvent, STATES, type BlickEvent, type EventOptions } from '../../../../core/event.js';
import type { ApiContext } from '../../context.js';
import { linkHeader, parseQuery, readBounds, timeParam } from '../../query.js';

const listQuery = (now?: () => number) => z.strictObject({
  /** a host name or glob (`web-*`), like the stream's and the silences' matchers */
  host: z.string().max(1024).optional(),
  service: z.string().max(1024).optional(),
  state: z.enum(STATES).optional(),
  /** unix ms, RFC 3339, or a duration before now (`15m`) */
  since: timeParam(now).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  cursor: z.string().optional(),
});

// a client's `source` is ignored: an API client cannot speak for the server (PRODUCT.md)
const API_EVENT_RULES: EventOptions = { source: 'api', sources: 'ignore' };

/** Largest batch accepted by POST /api/v1/events. */
export const MAX_POST_EVENTS = 10_000;

/** GET /api/v1/events (history, newest first) and POST /api/v1/events (submit a batch). */
export const eventsRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const reads = readBounds(ctx);
  const query = listQuery(ctx.now);
  app.get('/events', async (req, reply) => {
    const q = parseQuery(query, req.query);
    const { maxPageBytes, queryScanRows, queryBudgetMs } = reads.limits;
    // a page may be shorter than limit, even empty, and still have a next link (docs/api.md)
    const page = await ctx.store.queryEvents({ ...q, maxBytes: maxPageBytes, budget: { rows: queryScanRows, ms: queryBudgetMs } });
    reads.rows.inc(page.examined ?? 0);
    reads.stopped('/api/v1/events', page.stopped, q);
    if (page.next) reply.header('Link', linkHeader('/api/v1/events', req.query as Record<string, string>, page.next));
    if (page.json === undefined) return page.events;
    reply.type('application/json; charset=utf-8');
    return page.json;
  });

  app.post('/events', { config: { role: 'write' } }, async (req, reply) => {
    const body = req.body as unknown;
    const list = Array.isArray(body) ? body : (body as { events?: unknown } | null)?.events;
    if (!Array.isArray(list)) throw new BlickError('BAD_REQUEST', 'the body must be {"events":[…]} or an array of events');
    if (list.length > MAX_POST_EVENTS) throw new BlickError('BATCH_TOO_LARGE', `at most ${MAX_POST_EVENTS} events per request (got ${list.length})`);
    const events: BlickEvent[] = [];
    const rules = ctx.events ?? API_EVENT_RULES;
    for (let i = 0; i < list.length; i++) {
      try {
        events.push(makeEvent(list[i], rules));
      } catch (err) {
        throw new BlickError('EVENT_INVALID', `events[${i}]: ${(err as Error).message}`);
      }
    }
    const r = await ctx.ingest.ingest(events);
    const limit = ctx.ingest.state.limits.maxChecks;
    if (r.refused > 0 && r.refused === events.length) {
      throw new BlickError('CHECKS_LIMIT', `no event was stored: each would add a check, and the server holds its limit of ${limit} (server.limits.max_checks); raise the limit to add checks`);
    }
    reply.code(202);
    const out: Record<string, unknown> = { accepted: r.accepted, duplicates: r.duplicates, refused: r.refused, ids: events.map((e) => e.id) };
    if (r.refused > 0) {
      out.refused_events = r.refusedIndexes.map((index) => ({ index, id: events[index]!.id, code: 'CHECKS_LIMIT', message: `would add a check beyond server.limits.max_checks (${limit}); not stored` }));
    }
    return out;
  });
};
