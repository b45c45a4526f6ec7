import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../../context.js';

/** /healthz (the process answers), /readyz (store open, state loaded), /metrics (Prometheus). */
export const systemRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (!ctx.ready()) { reply.code(503); return { status: 'starting' }; }
    return { status: 'ready', store: ctx.store.kind };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return ctx.metrics.render();
  });
};
