import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { STATES } from '../../../../core/event.js';
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

/** GET /api/v1/checks: the current state of every host+service, worst first. */
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
};
