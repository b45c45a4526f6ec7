import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../../context.js';

/**
 * GET /api/v1/whoami: the role of the presented token, so that a client (the
 * dashboard) can hide what the token may not do. `auth` is false when the
 * server has no tokens configured (everyone is admin on loopback).
 */
export const whoamiRoutes = (_ctx: ApiContext, opts: { auth: boolean }): FastifyPluginAsync => async (app) => {
  app.get('/whoami', async (req) => ({ role: req.role ?? 'read', auth: opts.auth }));
};
