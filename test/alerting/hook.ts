import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BlickServer } from '../../src/server/index.js';
import { deferrals, startServer, tempDir } from '../fixtures/blick.js';
import { closeServer } from '../../src/server/notifiers/testdata/stand-ins.js';

export interface Hit { body: any; raw: string; headers: IncomingHttpHeaders; at: number }

/**
 * A webhook receiver: a real HTTP server on loopback that records every POST.
 * It can be stopped and started again on the same port (receiver outage) and
 * told to answer 500.
 */
export class HookReceiver {
  readonly hits: Hit[] = [];
  status = 200;
  port = 0;
  private server?: Server;

  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (b) => { raw += b; });
      req.on('end', () => {
        if (this.status === 200) {
          let body: any = raw;
          try { body = JSON.parse(raw); } catch { /* keep text */ }
          this.hits.push({ body, raw, headers: req.headers, at: Date.now() });
        }
        res.writeHead(this.status, { 'content-type': 'text/plain', connection: 'close' }).end(this.status === 200 ? 'ok' : 'nope');
      });
    });
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  get url(): string { return `http://127.0.0.1:${this.port}/hook`; }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }

  /** POSTs of one status for a rule (and host) */
  of(rule: string, status?: 'firing' | 'resolved', host?: string): Hit[] {
    return this.hits.filter((h) => h.body?.rule === rule && (status === undefined || h.body.status === status) && (host === undefined || h.body.host === host));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POST events through the API (source api). */
export async function post(url: string, events: Record<string, unknown>[]): Promise<void> {
  const res = await fetch(url + '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  if (res.status !== 202) throw new Error(`POST /api/v1/events answered ${res.status}: ${await res.text()}`);
}

/**
 * The start of every alerting test: clean-ups that run in reverse, a temporary
 * directory, and a webhook receiver listening on loopback.
 */
export async function withHook(t: { after(fn: () => unknown): void }): Promise<{ defer: (fn: () => unknown) => void; dir: string; hook: HookReceiver }> {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const hook = await new HookReceiver().start();
  defer(() => hook.stop());
  return { defer, dir, hook };
}

/** A real server in DIR/server with the `host-gone` rule (expired heartbeat, critical) routed to the hook; stopped by `defer`. */
export async function hostGoneServer(defer: (fn: () => unknown) => void, dir: string, hook: HookReceiver): Promise<BlickServer> {
  const server = await startServer({
    dataDir: join(dir, 'server'),
    config: {
      rules: [{ name: 'host-gone', match: { service: 'heartbeat' }, expired: true, severity: 'critical' }],
      notifiers: { ops: { type: 'webhook', url: hook.url } },
      routes: [{ match: { severity: 'critical' }, notify: ['ops'] }],
    },
  });
  defer(() => server.stop());
  return server;
}
