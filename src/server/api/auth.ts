import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BlickError } from '../../core/errors.js';
import type { Registry } from '../../core/metrics.js';
import { AuthFailures, type AuthFailuresOptions } from './auth-failures.js';
import { ROLE_RANK, type Role } from './context.js';

/** A configured token: the token itself, or the hex SHA-256 of it (the config file then holds no secret). */
export type TokenConfig = { token: string; sha256?: undefined; role: Role } | { token?: undefined; sha256: string; role: Role };

export interface AuthOptions {
  tokens: TokenConfig[];
  metrics: Registry;
  /** per-address throttling of failed authentications */
  failures: Omit<AuthFailuresOptions, 'onEvict'>;
}

/** The one route that takes `?token=`: EventSource cannot send headers. */
export const TOKEN_QUERY_ROUTE = '/api/v1/stream';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer tokens with roles. Without configured tokens every request has the
 * admin role (the server refuses to listen beyond loopback in that case).
 * /healthz, /readyz and routes with `config.public` (the dashboard's static
 * files) are open. Routes name the role they need in `config.role` (default
 * read). An address that presents `failures.max` unknown tokens within the
 * window gets 429 until the window ends.
 */
export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  const known = opts.tokens.map((t) => ({ hash: t.sha256 !== undefined ? Buffer.from(t.sha256, 'hex') : digest(t.token), role: t.role }));
  const failed = opts.metrics.counter('blick_http_auth_failures_total', 'API requests with a token this server does not know');
  const throttled = opts.metrics.counter('blick_http_auth_throttled_total', 'API requests refused because their address failed authentication too often');
  const evicted = opts.metrics.counter('blick_http_auth_failures_evicted_total', 'Addresses forgotten by the failed-authentication throttle to stay within max_addresses');
  const failures = new AuthFailures({ ...opts.failures, onEvict: () => evicted.inc() });
  app.addHook('onRequest', async (req, reply) => {
    const url = req.url;
    // the dashboard's page and assets are public: its login page must load without a token
    if (url === '/healthz' || url === '/readyz' || req.routeOptions.config?.public === true) return;
    let role: Role | undefined;
    if (known.length === 0) role = 'admin';
    else {
      const wait = failures.blockedFor(req.ip);
      if (wait > 0) {
        throttled.inc();
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new BlickError('AUTH_THROTTLED', `too many unknown tokens from ${req.ip}; try again in ${Math.ceil(wait / 1000)} s`);
      }
      const h = req.headers.authorization;
      const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
      const query = req.routeOptions.url === TOKEN_QUERY_ROUTE ? (req.query as Record<string, unknown> | undefined)?.token : undefined;
      const presented = m?.[1] ?? (typeof query === 'string' ? query : undefined);
      if (!presented) throw new BlickError('AUTH_REQUIRED', 'send Authorization: Bearer <token> (tokens are configured under server.tokens)');
      const d = digest(presented);
      for (const k of known) if (timingSafeEqual(k.hash, d)) { role = k.role; break; }
      if (!role) {
        failed.inc();
        failures.fail(req.ip);
        throw new BlickError('AUTH_REQUIRED', 'the token is not known to this server');
      }
    }
    const need: Role = req.routeOptions.config?.role ?? 'read';
    if (ROLE_RANK[role] < ROLE_RANK[need]) throw new BlickError('AUTH_FORBIDDEN', `this needs a token with the ${need} role; yours has ${role}`);
    req.role = role;
  });
}
