import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { STATES } from '../../../../core/event.js';
import { compareSeverity } from '../../../state.js';
import type { ApiContext } from '../../context.js';
import { page, pagingKeys, parseQuery, readBounds } from '../../query.js';

const query = z.strictObject({
  host: z.string().optional(),
  service: z.string().optional(),
  state: z.enum(STATES).optional(),
  ...pagingKeys,
});

/** GET /api/v1/checks: the current state of every host+service, worst first. */
export const checksRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const reads = readBounds(ctx);
  app.get('/checks', async (req, reply) => {
    const q = parseQuery(query, req.query);
    const out = [];
    const source = q.host !== undefined ? ctx.ingest.state.hostChecks(q.host) : ctx.ingest.state.all();
    for (const c of source) {
      if (q.service !== undefined && c.service !== q.service) continue;
      if (q.state !== undefined && c.state !== q.state) continue;
      out.push(c);
    }
    out.sort((a, b) => compareSeverity(b.state, a.state) || a.host.localeCompare(b.host) || a.service.localeCompare(b.service));
    return page(out, q, '/api/v1/checks', req, reply, reads);
  });
};
