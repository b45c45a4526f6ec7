import type { FastifyRequest } from 'fastify';
import { BlickError } from '../../core/errors.js';

/** A host name (lower case; IPv6 in brackets) and the port, when one was given. */
export interface HostName { name: string; port: number | undefined }

const HOST = /^(\[[0-9a-f:.]+\]|[^:[\]\s/@\\?#]+)(?::(\d{1,5}))?$/i;

/** Split a `Host` header or a `server.http_hosts` entry; undefined when it is not one. */
export function parseHost(s: string): HostName | undefined {
  const m = HOST.exec(s);
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { name: m[1]!.toLowerCase(), port };
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
/** `::ffff:127.0.0.1` → `127.0.0.1`, `::1` → `[::1]`: the form a Host header names an address in */
const asHostName = (address: string) => {
  const a = address.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  return a.includes(':') ? `[${a}]` : a;
};

export interface HostRuleOptions {
  /** the address server.http binds (a wildcard binds no name) */
  listenHost: string;
  /** server.http_hosts: `name` (any port) or `name:port` */
  names: string[];
  /** check Host on every request; otherwise only Origin against Host */
  strict: boolean;
  tls: boolean;
}

/**
 * Which `Host` and `Origin` a request may carry (DNS rebinding, cross-site
 * requests): loopback names, the listen address and the address the
 * connection arrived on, each with the port it arrived on; and the names
 * configured in server.http_hosts. An IP literal that is the connection's own
 * address cannot be a rebound name, so it is allowed too.
 */
export class HostRule {
  private readonly fixed: Set<string>;
  private readonly configured: HostName[];

  constructor(private readonly opts: HostRuleOptions) {
    const listen = asHostName(opts.listenHost);
    this.fixed = new Set([...LOOPBACK_NAMES, ...(listen === '0.0.0.0' || listen === '[::]' || listen === '' ? [] : [listen])]);
    this.configured = opts.names.map((n) => parseHost(n)).filter((h): h is HostName => h !== undefined);
  }

  /** Is `h` a name of this server for a connection that arrived on localAddress:localPort? */
  names(h: HostName, localAddress: string, localPort: number): boolean {
    const port = h.port ?? (this.opts.tls ? 443 : 80);
    if (port === localPort && (this.fixed.has(h.name) || h.name === asHostName(localAddress))) return true;
    return this.configured.some((c) => c.name === h.name && (c.port === undefined || c.port === port));
  }

  /** Throws HOST_REFUSED or ORIGIN_REFUSED when the request does not come to or from this server. */
  check(req: FastifyRequest): void {
    const host = req.headers.host;
    const local = { address: req.socket.localAddress ?? '', port: req.socket.localPort ?? 0 };
    if (this.opts.strict) {
      const h = host === undefined ? undefined : parseHost(host);
      if (!h || !this.names(h, local.address, local.port)) {
        throw new BlickError('HOST_REFUSED', `Host ${JSON.stringify(String(host ?? '').slice(0, 100))} is not a name of this server; add it to server.http_hosts if the API is reached by it`);
      }
    }
    const origin = req.headers.origin;
    if (origin === undefined || !needsOrigin(req)) return;
    let o: URL | undefined;
    try { o = new URL(origin); } catch { /* refused below */ }
    const ok = o !== undefined && (o.protocol === 'http:' || o.protocol === 'https:') && (
      (host !== undefined && o.host === host.toLowerCase())
      || this.names({ name: o.hostname.toLowerCase(), port: Number(o.port || (o.protocol === 'https:' ? 443 : 80)) }, local.address, local.port));
    if (!ok) throw new BlickError('ORIGIN_REFUSED', `requests from ${JSON.stringify(origin.slice(0, 100))} are refused: only pages of this server may change state or open the stream`);
  }
}

/** State-changing requests and the live stream (which an EventSource opens cross-origin). */
function needsOrigin(req: FastifyRequest): boolean {
  return !(req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') || req.routeOptions.url === '/api/v1/stream';
}
