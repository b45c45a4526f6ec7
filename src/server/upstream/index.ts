import { hostname } from 'node:os';
import type { Component, FailureListener } from '../../core/component.js';
import type { CurveConfig } from '../../core/config.js';
import type { BlickEvent } from '../../core/event.js';
import { anyGlob, type Matcher } from '../../core/glob.js';
import { RateLimitedLog, type Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import { producerFromConfig } from '../../transport/config.js';
import type { DnsConfig } from '../../transport/discovery.js';
import type { Producer } from '../../transport/producer.js';
import type { BatchNumbers } from '../../transport/receiver.js';
import type { Batch } from '../../transport/wire.js';
import type { ForwardConfig } from './config.js';

export { forwardConfigSchema, type ForwardConfig } from './config.js';

/** The attribute that keeps the source of a server's own event (api, server) forwarded as `relay`. */
export const FORWARDED_SOURCE = 'forwarded_source';

/** What the ingest pipeline hands on after each commit (src/server/ingest.ts). */
export interface Forwarder {
  /**
   * A batch a producer sent, after its commit: all its events, repeats
   * included (a resend after a crash between the commit and the forward must
   * still reach the upstream, which drops what it has by the numbers).
   * Never rejects: a failure is counted and logged, the regional ack stands.
   */
  received(batch: Batch, numbers?: BatchNumbers): Promise<void>;
  /** Events the server stored that no producer sent (API, ttl expiry), after their commit; spooled before it returns. */
  own(events: BlickEvent[]): void;
}

export interface ServerUpstreamDeps {
  dataDir: string;
  curve?: CurveConfig | undefined;
  dns?: DnsConfig | undefined;
  log: Logger;
  metrics: Registry;
}

/**
 * A regional server's link to central servers (`server.upstreams`): every
 * event the server commits, or those matching `server.forward`, goes on
 * through a Producer with its own spool (bounded, acknowledged, resent).
 *
 * Batches from producers keep their id, producer name and event numbers, so
 * the central server drops repeats exactly (Producer.forward lowers their low
 * water below any batch of the same producer still in this spool). Events left
 * out by the filter are gaps in the numbers, which the low water closes. The server's own events (API,
 * ttl expiry) are numbered by this producer; the central receiver refuses a
 * producer that claims `api` or `server` (only a server sets those, for what
 * it made itself), so they travel as `relay` with the original source in
 * `attributes.forwarded_source`.
 */
export class ServerUpstream implements Component, Forwarder {
  readonly name = 'upstream';
  readonly producer: Producer;
  private readonly matches: (e: BlickEvent) => boolean;
  private readonly warn: RateLimitedLog;
  private readonly m;

  constructor(upstreams: string[], config: ForwardConfig, deps: ServerUpstreamDeps) {
    const log = deps.log.child({ part: 'upstream' });
    this.warn = new RateLimitedLog(log);
    this.producer = producerFromConfig({ upstreams, spool: config.spool }, { ...deps, log, spool: 'server-upstream', producer: config.name ?? hostname() });
    this.matches = eventFilter(config);
    const r = deps.metrics;
    this.m = {
      forwarded: r.counter('blick_server_forwarded_events_total', 'Events handed to server.upstreams after their commit (kind: received from producers, own = API and ttl expiry)'),
      filtered: r.counter('blick_server_forward_filtered_total', 'Committed events not forwarded because server.forward does not match them'),
      failures: r.counter('blick_server_forward_failures_total', 'Events that could not be written to the upstream spool (the regional commit and ack stand; they do not reach the central server)'),
    };
  }

  onFailure(listener: FailureListener): void { this.producer.onFailure(listener); }
  start(): Promise<void> { return this.producer.start(); }
  stop(): Promise<void> { return this.producer.stop(); }

  async received(batch: Batch, numbers?: BatchNumbers): Promise<void> {
    const o = batch.origin;
    const seqs = o ? (numbers?.seqs ?? batch.events.map((_, i) => o.seq + i)) : undefined;
    const events: BlickEvent[] = [];
    const kept: number[] = [];
    batch.events.forEach((e, i) => {
      if (!this.matches(e)) return;
      events.push(e);
      if (seqs) kept.push(seqs[i]!);
    });
    if (events.length < batch.events.length) this.m.filtered.inc(batch.events.length - events.length);
    if (events.length === 0) return;
    const forwarded: Batch = { ...batch, events };
    try {
      await this.producer.forward(forwarded, seqs ? { seqs: kept, count: numbers?.count ?? batch.events.length } : undefined);
      this.m.forwarded.inc(events.length, { kind: 'received' });
    } catch (err) {
      this.failed(events.length, err);
    }
  }

  own(events: BlickEvent[]): void {
    let n = 0;
    try {
      for (const e of events) {
        if (!this.matches(e)) { this.m.filtered.inc(); continue; }
        this.producer.send(e.source === 'api' || e.source === 'server' ? { ...e, source: 'relay', attributes: { ...e.attributes, [FORWARDED_SOURCE]: e.source } } : e);
        n++;
      }
      // in the spool before the commit is answered (the API's 202): a crash after it loses nothing upstream
      this.producer.flush();
      this.m.forwarded.inc(n, { kind: 'own' });
    } catch (err) {
      this.failed(n, err);
    }
  }

  private failed(events: number, err: unknown): void {
    this.m.failures.inc(events);
    this.warn.warn('forward', { events, err: (err as Error).message }, 'could not spool events for server.upstreams; the regional commit stands, they will not reach the upstream');
  }
}

/** The `server.forward` filter as a predicate (no key given: every event). */
export function eventFilter(c: Pick<ForwardConfig, 'hosts' | 'services' | 'states'>): (e: BlickEvent) => boolean {
  const host: Matcher | undefined = c.hosts.length > 0 ? anyGlob(c.hosts) : undefined;
  const service: Matcher | undefined = c.services.length > 0 ? anyGlob(c.services) : undefined;
  const states = c.states.length > 0 ? new Set<string>(c.states) : undefined;
  return (e) => (!host || host(e.host)) && (!service || service(e.service)) && (!states || (e.state !== undefined && states.has(e.state)));
}
