import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BlickError } from '../../../../core/errors.js';
import { makeEvent, STATES } from '../../../../core/event.js';
import { glob, isGlob } from '../../../../core/glob.js';
import { compareSeverity } from '../../../state.js';
import type { ApiContext } from '../../context.js';
import { page, pagingKeys, parseQuery, readBounds } from '../../query.js';

const query = z.strictObject({
  /** a host name or glob (`web-*`), as on /events, the stream and silences */
  host: z.string().max(1024).optional(),
  service: z.string().max(1024).optional(),
  state: z.enum(STATES).optional(),
  ...pagingKeys,
});

const resolveBody = z.strictObject({
  author: z.string().min(1).max(200).optional(),
  reason: z.string().min(1).max(2000).optional(),
});

type CheckParams = { Params: { host: string; service: string } };

/**
 * GET /api/v1/checks: the current state of every host+service, worst first.
 * DELETE /api/v1/checks/:host/:service forgets one check (write role);
 * POST …/resolve stores an ok event for it (write role).
 */
export const checksRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const reads = readBounds(ctx);
  app.get('/checks', async (req, reply) => {
    const q = parseQuery(query, req.query);
    const out = [];
    const hostOk = q.host === undefined ? undefined : glob(q.host);
    const serviceOk = q.service === undefined ? undefined : glob(q.service);
    const source = q.host !== undefined && !isGlob(q.host) ? ctx.ingest.state.hostChecks(q.host) : ctx.ingest.state.all();
    for (const c of source) {
      if (hostOk && !hostOk(c.host)) continue;
      if (serviceOk && !serviceOk(c.service)) continue;
      if (q.state !== undefined && c.state !== q.state) continue;
      out.push(c);
    }
    out.sort((a, b) => compareSeverity(b.state, a.state) || a.host.localeCompare(b.host) || a.service.localeCompare(b.service));
    return page(out, q, '/api/v1/checks', req, reply, reads);
  });

  app.delete<CheckParams>('/checks/:host/:service', { config: { role: 'write' } }, async (req) => {
    const { host, service } = req.params;
    const r = await ctx.ingest.remove(host, service, 'api');
    if (!r) throw new BlickError('NOT_FOUND', `no check ${JSON.stringify(service)} on host ${JSON.stringify(host)}`);
    return { host, service, deleted: r.checks.map((c) => c.service) };
  });

  app.post<CheckParams>('/checks/:host/:service/resolve', { config: { role: 'write' } }, async (req, reply) => {
    const { host, service } = req.params;
    const b = resolveBody.safeParse(req.body ?? {});
    if (!b.success) throw new BlickError('BAD_REQUEST', b.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const c = ctx.ingest.state.get(host, service);
    if (!c) throw new BlickError('NOT_FOUND', `no check ${JSON.stringify(service)} on host ${JSON.stringify(host)}`);
    const by = b.data.author ?? (req.role ? `token:${req.role}` : 'anonymous');
    // newer than the check's last event, or the state index keeps that one
    const time = Math.max((ctx.now ?? Date.now)(), c.time + 1);
    const event = makeEvent({
      host, service, state: 'ok', time, tags: c.tags,
      description: `resolved by ${by} through the API${b.data.reason ? `: ${b.data.reason}` : ''}`,
      attributes: { resolved_by: by, ...(b.data.reason ? { reason: b.data.reason } : {}) },
    }, { source: 'api', sources: 'ignore' });
    await ctx.ingest.ingest([event]);
    reply.code(201);
    return event;
  });
};
