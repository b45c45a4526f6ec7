import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { BlickError } from '../../core/errors.js';
import type { AgentServerConfig } from './schema.js';

/** One answer of the server's API. */
export interface ApiResponse { status: number; headers: http.IncomingHttpHeaders; body: string }

/** The request could not be made or its answer was refused (not an HTTP status). */
export class ApiUnreachable extends Error {}

/**
 * The agent's small client of the server's HTTP API: bearer token (from
 * `token` or `token_file`, read on every request so a rotated file is picked
 * up), a private CA for https, a bound on the response body and a timeout per
 * request. No redirects are followed (a token is never sent elsewhere).
 */
export class ApiClient {
  private readonly base: URL;
  private readonly ca: Buffer | undefined;
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly config: AgentServerConfig) {
    this.base = new URL(config.url.endsWith('/') ? config.url : config.url + '/');
    try { this.ca = config.ca ? readFileSync(config.ca) : undefined; } catch (err) {
      throw new BlickError('CONFIG_INVALID', `agent.server.ca: cannot read ${config.ca}: ${(err as Error).message}`);
    }
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets: 4 }), https: new https.Agent({ keepAlive: true, maxSockets: 4, ...(this.ca ? { ca: this.ca } : {}) }) };
  }

  /** The server's base URL (for logs). */
  get url(): string { return this.base.toString(); }

  private token(): string | undefined {
    if (this.config.token) return this.config.token;
    if (this.config.token_file) return readFileSync(this.config.token_file, 'utf8').split('\n')[0]!.trim() || undefined;
    return undefined;
  }

  /**
   * `method path` with an optional JSON body; resolves with any HTTP status,
   * rejects with {@link ApiUnreachable} when there is no answer (refused, timeout, too large).
   */
  request(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal }): Promise<ApiResponse> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let token: string | undefined;
    try { token = this.token(); } catch (err) { return Promise.reject(new ApiUnreachable(`cannot read agent.server.token_file: ${(err as Error).message}`)); }
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const mod = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.agents.https : this.agents.http;
    const max = this.config.max_response_bytes;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent, timeout: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) { req.destroy(new ApiUnreachable(`the answer is larger than agent.server.max_response_bytes (${max})`)); return; }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(err instanceof ApiUnreachable ? err : new ApiUnreachable(err.message)));
      });
      // a held long-poll that outlives its wait by the timeout is a dead connection
      const deadline = setTimeout(() => req.destroy(new ApiUnreachable(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', () => req.destroy(new ApiUnreachable(`idle for ${opts.timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof ApiUnreachable ? err : new ApiUnreachable(err.message)));
      req.end(payload);
    });
  }

  /** Closes kept-alive connections. */
  close(): void { this.agents.http.destroy(); this.agents.https.destroy(); }
}

/** The message of an API error answer (`{ error: { code, message } }` or whatever it holds). */
export function apiErrorText(r: ApiResponse): string {
  try {
    const b = JSON.parse(r.body) as { error?: { code?: string; message?: string } | string };
    if (typeof b.error === 'string') return `${r.status} ${b.error}`;
    if (b.error) return `${r.status} ${b.error.code ?? ''} ${b.error.message ?? ''}`.trim();
  } catch { /* not JSON */ }
  return `${r.status} ${r.body.slice(0, 200)}`;
}
