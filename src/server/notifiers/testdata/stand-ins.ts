import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a stand-in received, with the time it arrived and what it answered. */
export interface Received { method: string; path: string; headers: IncomingHttpHeaders; body: any; at: number; status: number }

/** A scripted answer for the next request (then the stand-in answers as the real API does). */
export interface Scripted { status: number; headers?: Record<string, string>; body?: unknown }

/**
 * A loopback HTTP server that plays a receiver's API: it validates each request
 * as the documented API does and answers in the documented format, unless a
 * scripted answer (429 with Retry-After, 500…) is queued for the next request.
 */
abstract class StandIn {
  readonly received: Received[] = [];
  readonly script: Scripted[] = [];
  private server?: Server;
  port = 0;

  /** Validate a request: a 4xx answer, or undefined when the API would accept it. */
  protected abstract check(method: string, path: string, headers: IncomingHttpHeaders, body: any): Scripted | undefined;
  protected abstract accepted(path: string, body: any): Scripted;

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (b: string) => { raw += b; });
      req.on('end', () => {
        let body: any;
        try { body = JSON.parse(raw); } catch { body = undefined; }
        const path = req.url ?? '/';
        const answer = this.script.shift() ?? this.check(req.method ?? '', path, req.headers, body) ?? this.accepted(path, body);
        this.received.push({ method: req.method ?? '', path, headers: req.headers, body, at: Date.now(), status: answer.status });
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  get base(): string { return `http://127.0.0.1:${this.port}`; }
  /** requests the stand-in accepted (2xx) */
  get accepted2xx(): Received[] { return this.received.filter((r) => r.status >= 200 && r.status < 300); }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }
}

/** Close an HTTP server and its open connections (nothing when it is not running). */
export async function closeServer(s: Server | undefined): Promise<void> {
  if (!s) return;
  s.closeAllConnections();
  await new Promise<void>((r) => s.close(() => r()));
}

const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** PagerDuty Events API v2: POST /v2/enqueue; 202 {status, message, dedup_key}, 400 {status: "invalid event", message, errors}. */
export class PagerDutyStandIn extends StandIn {
  get url(): string { return `${this.base}/v2/enqueue`; }

  protected check(method: string, path: string, _h: IncomingHttpHeaders, b: any): Scripted | undefined {
    const invalid = (...errors: string[]): Scripted => ({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } });
    if (method !== 'POST' || path !== '/v2/enqueue') return { status: 404, body: { status: 'not found' } };
    if (!b || typeof b !== 'object') return invalid('body is not JSON');
    if (!isString(b.routing_key, 64)) return invalid("'routing_key' is missing or blank");
    if (!['trigger', 'acknowledge', 'resolve'].includes(b.event_action)) return invalid("'event_action' is invalid");
    if (b.dedup_key !== undefined && !isString(b.dedup_key, 255)) return invalid("'dedup_key' is invalid");
    if (b.event_action !== 'trigger') return b.dedup_key === undefined ? invalid("'dedup_key' is required for " + b.event_action) : undefined;
    const p = b.payload;
    if (!p || typeof p !== 'object') return invalid("'payload' is missing");
    if (!isString(p.summary, 1024)) return invalid("'payload.summary' is missing or longer than 1024");
    if (!isString(p.source, 255)) return invalid("'payload.source' is missing");
    if (!['critical', 'error', 'warning', 'info'].includes(p.severity)) return invalid("'payload.severity' is invalid");
    if (p.timestamp !== undefined && Number.isNaN(Date.parse(p.timestamp))) return invalid("'payload.timestamp' is not ISO 8601");
    return undefined;
  }

  protected accepted(_path: string, b: any): Scripted {
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: b.dedup_key ?? 'generated' } };
  }
}

/** Opsgenie Alert API v2: POST /v2/alerts, POST /v2/alerts/{id}/close?identifierType=alias; 202 {result, took, requestId}. */
export class OpsgenieStandIn extends StandIn {
  constructor(readonly key = 'test-genie-key') { super(); }
  private n = 0;

  protected check(method: string, path: string, h: IncomingHttpHeaders, b: any): Scripted | undefined {
    const err = (status: number, message: string): Scripted => ({ status, body: { message, took: 0.001, requestId: `r-${++this.n}` } });
    if (h.authorization !== `GenieKey ${this.key}`) return err(401, 'Could not authenticate');
    if (method !== 'POST') return err(405, 'Method not allowed');
    if (!b || typeof b !== 'object') return err(400, 'Request body is not processable');
    const url = new URL(path, 'http://x');
    if (url.pathname === '/v2/alerts') {
      if (!isString(b.message, 130)) return err(422, 'Message can not be empty or longer than 130');
      if (b.alias !== undefined && !isString(b.alias, 512)) return err(422, 'Alias is invalid');
      if (b.priority !== undefined && !/^P[1-5]$/.test(b.priority)) return err(422, 'Priority should be one of [P1, P2, P3, P4, P5]');
      if (b.tags !== undefined && (!Array.isArray(b.tags) || b.tags.length > 20 || b.tags.some((t: unknown) => !isString(t, 50)))) return err(422, 'Tags are invalid');
      if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 15_000)) return err(422, 'Description is invalid');
      return undefined;
    }
    if (/^\/v2\/alerts\/[^/]+\/close$/.test(url.pathname)) {
      return ['id', 'alias', 'tiny'].includes(url.searchParams.get('identifierType') ?? 'id') ? undefined : err(422, 'identifierType is invalid');
    }
    return err(404, 'Not found');
  }

  protected accepted(): Scripted {
    return { status: 202, body: { result: 'Request will be processed', took: 0.01, requestId: `r-${++this.n}` } };
  }
}
