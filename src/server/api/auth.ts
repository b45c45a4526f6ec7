import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BlickError } from '../../core/errors.js';
import { ROLE_RANK, type Role } from './context.js';

export interface TokenConfig { token: string; role: Role }

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer tokens with roles. Without configured tokens every request has the
 * admin role (the server refuses to listen beyond loopback in that case).
 * /healthz, /readyz and routes with `config.public` (the dashboard's static files) are open. Routes name the role they need in
 * `config.role` (default read).
 */
export function installAuth(app: FastifyInstance, tokens: TokenConfig[]): void {
  const known = tokens.map((t) => ({ hash: digest(t.token), role: t.role }));
  app.addHook('onRequest', async (req) => {
    const url = req.url;
    // the dashboard's page and assets are public: its login page must load without a token
    if (url === '/healthz' || url === '/readyz' || req.routeOptions.config?.public === true) return;
    let role: Role | undefined;
    if (known.length === 0) role = 'admin';
    else {
      const h = req.headers.authorization;
      const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
      // EventSource cannot send headers: the live stream also takes ?token=
      const presented = m?.[1] ?? (url.startsWith('/api/v1/stream') ? (req.query as Record<string, string> | undefined)?.token : undefined);
      if (!presented) throw new BlickError('AUTH_REQUIRED', 'send Authorization: Bearer <token> (tokens are configured under server.tokens)');
      const d = digest(presented);
      for (const k of known) if (timingSafeEqual(k.hash, d)) { role = k.role; break; }
      if (!role) throw new BlickError('AUTH_REQUIRED', 'the token is not known to this server');
    }
    const need: Role = req.routeOptions.config?.role ?? 'read';
    if (ROLE_RANK[role] < ROLE_RANK[need]) throw new BlickError('AUTH_FORBIDDEN', `this needs a token with the ${need} role; yours has ${role}`);
    req.role = role;
  });
}
