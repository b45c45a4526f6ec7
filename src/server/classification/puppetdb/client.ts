import { request, Agent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { BlickError } from '../../../core/errors.js';
import type { PuppetdbConfig } from './config.js';

/** Why a PuppetDB request failed, as counted in blick_puppetdb_poll_failures_total{reason}. */
export type PuppetdbFailure = 'tls' | 'connect' | 'timeout' | 'http' | 'invalid' | 'too_large' | 'aborted';

/** A failed PuppetDB request: what was asked, why it failed. */
export class PuppetdbRequestError extends Error {
  constructor(readonly reason: PuppetdbFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PuppetdbRequestError';
  }
}

/** The PEM files of server.puppetdb, read and checked at start: a bad file is a config error, not a failed poll every interval. */
export function loadPuppetdbTls(c: PuppetdbConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (file: string, key: string) => {
    try { return readFileSync(file); } catch (err) {
      throw new BlickError('CONFIG_UNREADABLE', `server.puppetdb.${key}: cannot read ${file} (${(err as Error).message})`, { cause: err });
    }
  };
  const pem = {
    ...(c.ca !== undefined ? { ca: read(c.ca, 'ca') } : {}),
    ...(c.cert !== undefined ? { cert: read(c.cert, 'cert') } : {}),
    ...(c.key !== undefined ? { key: read(c.key, 'key') } : {}),
  };
  try { createSecureContext(pem); } catch (err) {
    throw new BlickError('CONFIG_INVALID', `server.puppetdb: ca, cert and key must be PEM files, the key that of the certificate (${(err as Error).message})`, { cause: err });
  }
  return pem;
}

function failureOf(err: NodeJS.ErrnoException): PuppetdbFailure {
  const code = err.code ?? '';
  if (/SSL|TLS|CERT|EPROTO/i.test(code) || /alert|certificate|handshake/i.test(err.message)) return 'tls';
  if (code === 'ECONNRESET') return 'tls'; // a server that requires a client certificate resets the handshake without one
  return 'connect';
}

export type OrderBy = { field: string; order?: 'asc' | 'desc' }[];

/**
 * PuppetDB's query API over HTTPS with a client certificate (node:https, one
 * keep-alive agent). `query()` reads every page of an endpoint (`limit`,
 * `offset`, a stable `order_by`) up to `maxRows` rows; each response body is
 * bounded in bytes and each request in time.
 */
export class PuppetdbClient {
  private readonly agent: Agent;
  private readonly base: string;

  constructor(private readonly config: PuppetdbConfig, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 4, ...tls });
    this.base = config.url.replace(/\/+$/, '');
  }

  /** Rows of `/pdb/query/v4/<endpoint>` matching `query`, every page, at most `maxRows` (a caller asks one more to see that there are more). */
  async query(endpoint: 'nodes' | 'resources' | 'facts', query: unknown, orderBy: OrderBy, maxRows: number, signal: AbortSignal): Promise<unknown[]> {
    const rows: unknown[] = [];
    const size = this.config.page_size;
    for (let offset = 0; rows.length < maxRows; offset += size) {
      const limit = Math.min(size, maxRows - rows.length);
      const qs = new URLSearchParams({ query: JSON.stringify(query), order_by: JSON.stringify(orderBy), limit: String(limit), offset: String(offset) });
      const page = await this.get(`/pdb/query/v4/${endpoint}?${qs}`, signal);
      if (!Array.isArray(page)) throw new PuppetdbRequestError('invalid', `${endpoint}: PuppetDB answered ${typeof page}, not a JSON array`);
      rows.push(...page);
      if (page.length < limit) break;
    }
    return rows;
  }

  private get(path: string, signal: AbortSignal): Promise<unknown> {
    const url = this.base + path;
    const what = path.slice(0, path.indexOf('?'));
    return new Promise((resolve, reject) => {
      if (signal.aborted) { reject(new PuppetdbRequestError('aborted', `${what}: stopped`)); return; }
      const req = request(url, { agent: this.agent, headers: { accept: 'application/json' }, signal });
      const timer = setTimeout(() => req.destroy(new PuppetdbRequestError('timeout', `${what}: no complete answer within ${this.config.timeout} ms (server.puppetdb.timeout)`)), this.config.timeout);
      const done = (fn: () => void) => { clearTimeout(timer); fn(); };
      req.on('error', (err: NodeJS.ErrnoException) => done(() => {
        if (err instanceof PuppetdbRequestError) reject(err);
        else if (signal.aborted) reject(new PuppetdbRequestError('aborted', `${what}: stopped`));
        else reject(new PuppetdbRequestError(failureOf(err), `${what}: ${err.code ? `${err.code} ` : ''}${err.message}`, { cause: err }));
      }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (b: Buffer) => {
          bytes += b.length;
          if (bytes > this.config.max_response_bytes) {
            req.destroy(new PuppetdbRequestError('too_large', `${what}: the answer exceeds ${this.config.max_response_bytes} bytes (server.puppetdb.max_response_bytes; lower page_size)`));
            return;
          }
          chunks.push(b);
        });
        res.on('error', () => undefined); // reported through req's error
        res.on('end', () => done(() => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new PuppetdbRequestError('http', `${what}: HTTP ${res.statusCode}: ${text.replace(/\s+/g, ' ').slice(0, 200)}`));
            return;
          }
          try { resolve(JSON.parse(text)); } catch (err) {
            reject(new PuppetdbRequestError('invalid', `${what}: the answer is not JSON (${(err as Error).message})`));
          }
        }));
      });
      req.end();
    });
  }

  close(): void { this.agent.destroy(); }
}
