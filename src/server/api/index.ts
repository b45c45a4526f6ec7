import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BlickError, isBlickError } from '../../core/errors.js';
import { EVENT_LIMITS } from '../../core/event.js';
import { RateLimitedLog } from '../../core/log.js';
import { truncateUtf8 } from '../state.js';
import { installAuth, type AuthOptions, type TokenConfig } from './auth.js';
import { HostRule, type HostRuleOptions } from './hosts.js';
import type { ApiContext } from './context.js';
import { alertsRoutes } from './routes/alerts/index.js';
import { checksRoutes } from './routes/checks/index.js';
import { classificationRoutes } from './routes/classification/index.js';
import { eventsRoutes } from './routes/events/index.js';
import { hostsRoutes } from './routes/hosts/index.js';
import { seriesRoutes } from './routes/series/index.js';
import { silencesRoutes } from './routes/silences/index.js';
import { systemRoutes } from './routes/system/index.js';
import { streamRoutes, type StreamLimits } from './routes/stream/index.js';
import { whoamiRoutes } from './routes/whoami/index.js';
import { dashboardRoutes } from '../dashboard/index.js';

export interface ApiOptions {
  tokens: TokenConfig[];
  bodyLimit?: number;
  /** failed-authentication throttle [10 per minute per address, 10,000 addresses] */
  failures?: AuthOptions['failures'];
  /** which Host and Origin headers are accepted [loopback names only, strict] */
  hosts?: Partial<HostRuleOptions>;
  /** serve HTTPS with this PEM certificate and key */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** live stream bounds (server.limits.stream_*) */
  stream?: Partial<StreamLimits>;
  /** ms a request's headers and body may take to arrive; then 408 and the connection is closed [60,000] (server.limits.http_request_timeout) */
  requestTimeoutMs?: number;
}

/** UTF-8 bytes of an error message in an API answer and its log line: messages may quote what the client sent. */
export const MAX_ERROR_MESSAGE_BYTES = 1024;

/** A path parameter may be a host name at its length limit, percent-encoded (up to 9 characters per UTF-16 unit). */
const MAX_PARAM_LENGTH = EVENT_LIMITS.hostLength * 9;

/** `url` with the value of every `token` query parameter replaced, so that no log line holds a token. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url.slice(q + 1).split('&').map((p) => {
    const eq = p.indexOf('=');
    const raw = eq < 0 ? p : p.slice(0, eq);
    let key = raw;
    try { key = decodeURIComponent(raw.replace(/\+/g, ' ')); } catch { /* logged as sent */ }
    return key.trim().toLowerCase() === 'token' ? `${raw}=[redacted]` : p;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/**
 * The HTTP API (PRODUCT.md, "HTTP API"): one plugin per resource under
 * /api/v1, errors as `{"error":{"code","message"}}` from the one catalogue.
 */
export function buildApi(ctx: ApiContext, opts: ApiOptions): FastifyInstance {
  const warn = new RateLimitedLog(ctx.log);
  const rejected = ctx.metrics.counter('blick_http_requests_rejected_total', 'API requests rejected (by status)');
  const misdirected = ctx.metrics.counter('blick_http_host_refused_total', 'API requests refused for a Host or Origin that is not this server (by header)');
  const requestTimeout = opts.requestTimeoutMs ?? 60_000;
  // node checks request timeouts on this interval (30 s by default, longer than a short timeout)
  const serverOptions = { connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(requestTimeout / 4))), headersTimeout: requestTimeout };
  const refuse = (req: FastifyRequest | undefined, status: number, code: string, message: string) => {
    const m = truncateUtf8(message, MAX_ERROR_MESSAGE_BYTES);
    rejected.inc(1, { status: String(status) });
    if (status >= 400 && status < 500) warn.warn(`http:${code}`, { ...(req ? { url: redactUrl(req.url).slice(0, 200) } : {}), status, error: m }, 'API request rejected');
    return { error: { code, message: m === message ? m : `${m}… (cut)` } };
  };
  const app = Fastify({
    logger: false, bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024, return503OnClosing: true, requestTimeout,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // the router's own refusals (bad percent-encoding, a parameter too long) answer like every other error
    frameworkErrors: (err: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply) => {
      const e = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new BlickError('URI_TOO_LONG', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`)
        : new BlickError('BAD_REQUEST', 'the URL path is not valid percent-encoded UTF-8');
      reply.code(e.status).send(refuse(req, e.status, e.code, e.message));
    },
    // malformed HTTP (bad request line, headers too large, a request that never ends): answered, counted, closed
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const e = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new BlickError('REQUEST_TIMEOUT', `the request did not arrive within ${requestTimeout} ms (server.limits.http_request_timeout)`)
        : err.code === 'HPE_HEADER_OVERFLOW' ? new BlickError('HEADERS_TOO_LARGE', 'the request line and headers are larger than 16 KiB')
        : new BlickError('BAD_REQUEST', `malformed HTTP request (${err.code ?? 'parse error'})`);
      const body = JSON.stringify(refuse(undefined, e.status, e.code, e.message));
      if (socket.writable) socket.write(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      socket.destroy();
    },
    ...(opts.tls ? { https: { ...opts.tls, ...serverOptions } } : { http: serverOptions }),
  }) as unknown as FastifyInstance;
  const hosts = new HostRule({ listenHost: '127.0.0.1', names: [], strict: true, tls: opts.tls !== undefined, ...opts.hosts });
  app.addHook('onRequest', async (req) => {
    if (req.url === '/healthz' || req.url === '/readyz') return;
    try { hosts.check(req); } catch (err) {
      misdirected.inc(1, { header: isBlickError(err, 'HOST_REFUSED') ? 'host' : 'origin' });
      throw err;
    }
  });
  installAuth(app, { tokens: opts.tokens, metrics: ctx.metrics, failures: opts.failures ?? { max: 10, windowMs: 60_000, maxAddresses: 10_000 } });
  app.setErrorHandler((err, req, reply) => {
    let status: number, code: string, message: string;
    if (isBlickError(err)) { status = err.status; code = err.code; message = err.message; }
    else if ((err as { validation?: unknown }).validation || (err as { statusCode?: number }).statusCode) {
      status = (err as { statusCode?: number }).statusCode ?? 400;
      code = status === 413 ? 'BATCH_TOO_LARGE' : 'BAD_REQUEST';
      message = (err as Error).message;
    } else {
      status = 500; code = 'INTERNAL'; message = 'internal error (see the server log)';
      ctx.log.error({ err, url: redactUrl(req.url) }, 'API handler failed');
    }
    reply.code(status).send(refuse(req, status, code, message));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(refuse(req, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
  app.register(systemRoutes(ctx));
  app.register(eventsRoutes(ctx), { prefix: '/api/v1' });
  app.register(hostsRoutes(ctx), { prefix: '/api/v1' });
  app.register(classificationRoutes(ctx), { prefix: '/api/v1' });
  app.register(checksRoutes(ctx), { prefix: '/api/v1' });
  app.register(alertsRoutes(ctx), { prefix: '/api/v1' });
  app.register(silencesRoutes(ctx), { prefix: '/api/v1' });
  app.register(seriesRoutes(ctx), { prefix: '/api/v1' });
  app.register(streamRoutes(ctx, { auth: opts.tokens.length > 0, ...(opts.stream ? { limits: opts.stream } : {}) }), { prefix: '/api/v1' });
  app.register(whoamiRoutes(ctx, { auth: opts.tokens.length > 0 }), { prefix: '/api/v1' });
  app.register(dashboardRoutes());
  return app;
}

/** Split `host:port`; `[::1]:8080` works too. */
export function splitHostPort(hp: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(hp);
  if (!m) throw new BlickError('CONFIG_INVALID', `${hp} is not host:port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
