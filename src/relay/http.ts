import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { FailureSignal, type Component, type FailureListener } from '../core/component.js';
import { BlickError } from '../core/errors.js';
import { RateLimitedLog, type Logger } from '../core/log.js';
import type { Registry } from '../core/metrics.js';
import { splitHostPort } from '../core/net.js';

/** Options of the relay's {@link RelayHttp} listener. */
export interface RelayHttpOptions {
  /** host:port to listen on (relay.http) */
  listen: string;
  metrics: Registry;
  /** /readyz answers 200 while this says yes */
  ready: () => boolean;
  /** bearer token /metrics asks for (relay.http_token) */
  token?: string | undefined;
  log: Logger;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/**
 * The relay's small HTTP listener: GET /metrics (Prometheus text), /healthz
 * (the process answers), /readyz (started and the spool writable). Nothing
 * else is served: other paths are 404, other methods 405, request bodies are
 * not read, headers are bounded and slow clients are cut off. Closing while
 * running is a failure of the relay.
 */
export class RelayHttp implements Component {
  readonly name = 'http';
  private server?: Server;
  private listening = false;
  private readonly failures = new FailureSignal();
  private readonly warn: RateLimitedLog;
  private readonly requests;
  /** the address it listens on, e.g. http://127.0.0.1:8081 */
  url = '';

  constructor(private readonly opts: RelayHttpOptions) {
    this.warn = new RateLimitedLog(opts.log);
    this.requests = opts.metrics.counter('blick_relay_http_requests_total', 'Requests to the relay\'s HTTP listener (code: the status answered)');
  }

  onFailure(listener: FailureListener): void { this.failures.listen(listener); }

  private answer(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
    this.requests.inc(1, { code: String(code) });
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
    res.end(body);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return this.answer(res, 404, 'not found: the relay serves /metrics, /healthz and /readyz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.answer(res, 405, 'method not allowed\n', undefined, { allow: 'GET, HEAD' });
    if (path === '/healthz') return this.answer(res, 200, 'ok\n');
    if (path === '/readyz') return this.opts.ready() ? this.answer(res, 200, 'ready\n') : this.answer(res, 503, 'not ready: starting, stopping, or the spool cannot be written\n');
    if (this.opts.token !== undefined) {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!timingSafeEqual(sha(given), sha(this.opts.token))) return this.answer(res, 401, 'a bearer token is required (relay.http_token)\n', undefined, { 'www-authenticate': 'Bearer' });
    }
    this.answer(res, 200, this.opts.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
  }

  async start(): Promise<void> {
    this.failures.reset();
    const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
      try { this.handle(req, res); } catch (err) {
        this.warn.warn('http-handler', { err: (err as Error).message }, 'relay HTTP request failed');
        if (!res.headersSent) this.answer(res, 500, 'internal error\n');
      }
    });
    server.maxConnections = 64;
    server.keepAliveTimeout = 5_000;
    server.on('clientError', (err, socket) => {
      this.requests.inc(1, { code: '400' });
      this.warn.warn('http-client-error', { err: err.message }, 'bad HTTP request to the relay');
      socket.destroy();
    });
    const { host, port } = splitHostPort(this.opts.listen);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    }).catch((err: Error) => { throw new BlickError('COMPONENT_FAILED', `relay.http ${this.opts.listen}: cannot listen: ${err.message}`, { cause: err }); });
    server.on('error', (err) => this.warn.warn('http-error', { err: err.message }, 'relay HTTP listener error; still listening'));
    server.on('close', () => {
      if (!this.listening) return;
      this.failures.fail(new BlickError('COMPONENT_FAILED', `the relay HTTP listener ${this.url} closed while running`));
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') this.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    this.server = server;
    this.listening = true;
  }

  async stop(): Promise<void> {
    this.listening = false;
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); });
  }
}
