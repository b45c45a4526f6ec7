import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { zDuration } from '../core/config.js';
import { RateLimitedLog, type Logger } from '../core/log.js';
import type { Counter } from '../core/metrics.js';

/**
 * Finding an upstream through DNS SRV (`srv+tcp://_blick._tcp.example.net`):
 * the record is resolved, its targets ordered as RFC 2782 says, and the
 * Producer connects to the first of them; it re-resolves on an interval and
 * when the chosen target stays unreachable, and follows a change of the record.
 */

/** The scheme of an upstream found through DNS SRV. */
export const SRV_SCHEME = 'srv+tcp://';

/** The SRV record name of an `srv+tcp://NAME` upstream, or undefined for any other endpoint. */
export function srvName(endpoint: string): string | undefined {
  return endpoint.startsWith(SRV_SCHEME) ? endpoint.slice(SRV_SCHEME.length) : undefined;
}

/** One SRV answer (the shape node:dns gives). */
export interface SrvRecord { name: string; port: number; priority: number; weight: number }

/** What discovery needs of a resolver: node:dns/promises `Resolver` has it; tests inject their own. */
export interface SrvResolver {
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/** The top-level `dns:` section: how SRV upstreams are resolved (docs/configuration.md). */
export const dnsConfigSchema = z.strictObject({
  /** name servers (ip or ip:port) for SRV upstreams and their targets; default the machine's (/etc/resolv.conf) */
  servers: z.array(z.string().regex(/^(\[[0-9a-fA-F:]+\](:\d{1,5})?|[0-9a-fA-F:]+|[0-9.]+(:\d{1,5})?)$/, 'must be an IP address, optionally with :port, e.g. 127.0.0.1:5353')).max(16).default([]),
  /** re-resolve SRV upstreams this often (node's resolver does not expose the SRV TTL, so this stands for it) */
  refresh: zDuration.prefault('60s').refine((ms) => ms >= 1000 && ms <= 3_600_000, 'must be between 1s and 1h'),
  /** the chosen target unreachable this long → re-resolve and move to the next target */
  failover: zDuration.prefault('10s').refine((ms) => ms >= 100 && ms <= 600_000, 'must be between 100ms and 10m'),
}).prefault({});
export type DnsConfig = z.output<typeof dnsConfigSchema>;

/** The default `dns:` section. */
export const DEFAULT_DNS: DnsConfig = dnsConfigSchema.parse(undefined);

/** How a Producer resolves `srv+tcp://` upstreams; tests inject the resolver and the clock. */
export interface DiscoveryOptions {
  resolver?: SrvResolver;
  /** re-resolve this often, ms */
  refreshMs?: number;
  /** the chosen target unreachable this long → re-resolve and move on to the next, ms */
  failoverMs?: number;
  now?: () => number;
}

/** The Producer's discovery options from the `dns:` section (absent: the defaults). */
export function discoveryFromConfig(dns: DnsConfig | undefined): DiscoveryOptions {
  const c = dns ?? DEFAULT_DNS;
  return { resolver: dnsResolver(c.servers), refreshMs: c.refresh, failoverMs: c.failover };
}

/** A resolver for `servers` (none: the machine's own). */
export function dnsResolver(servers: string[], timeoutMs = 3000): SrvResolver {
  const r = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) r.setServers(servers);
  return r;
}

/**
 * Order SRV records as RFC 2782 asks a client to try them: lowest priority
 * first; among equal priorities a weighted random order (a weight 0 record is
 * picked first only when the random draw is 0, so rarely). A single record with
 * target "." means "no such service here": no targets.
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  if (records.length === 1 && (records[0]!.name === '.' || records[0]!.name === '')) return [];
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) {
    if (r.name === '.' || r.name === '') continue;
    const group = byPriority.get(r.priority) ?? [];
    group.push(r);
    byPriority.set(r.priority, group);
  }
  const out: SrvRecord[] = [];
  for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
    // RFC 2782: zero-weight records first in the list, then pick by a running sum
    const left = [...byPriority.get(p)!].sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((s, r) => s + r.weight, 0);
      const pick = Math.floor(random() * (total + 1)); // 0..total inclusive
      let sum = 0;
      let i = 0;
      for (; i < left.length - 1; i++) { sum += left[i]!.weight; if (sum >= pick) break; }
      out.push(left.splice(i, 1)[0]!);
    }
  }
  return out;
}

/** Targets of one SRV record kept (in RFC 2782 order); the rest are counted (lookups{result="truncated"}) and ignored. */
export const MAX_SRV_TARGETS = 32;

/** Where one SRV upstream's chosen endpoint is connected and disconnected (the Producer's socket). */
export interface EndpointSink {
  connect(endpoint: string): void;
  disconnect(endpoint: string): void;
  isConnected(endpoint: string): boolean;
}

export interface SrvUpstreamOptions {
  /** the SRV record name, e.g. _blick._tcp.example.net */
  name: string;
  resolver: SrvResolver;
  sink: EndpointSink;
  refreshMs: number;
  failoverMs: number;
  now?: () => number;
  random?: () => number;
  log: Logger;
  /** lookups by result (ok, failed, empty) */
  lookups?: Counter | undefined;
  /** changes of the chosen target */
  changes?: Counter | undefined;
}

/** A resolved target: the endpoint the socket connects to, and its priority. */
interface Target { endpoint: string; priority: number }

/**
 * One `srv+tcp://` upstream: keeps the ordered targets of the last good lookup
 * and one chosen endpoint connected. `tick()` (driven by the Producer's timer)
 * starts a lookup when the refresh interval has passed or the chosen target has
 * been unreachable for `failoverMs`; a failed lookup keeps the last good
 * targets (logged rate-limited and counted) and, on failover, still moves on to
 * the next of them.
 */
export class SrvUpstream {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly warn: RateLimitedLog;
  private targets: Target[] = [];
  private current?: string;
  /** when the current endpoint was chosen or last seen connected */
  private lastUp = 0;
  private nextRefresh = 0;
  private inflight?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: SrvUpstreamOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.warn = new RateLimitedLog(opts.log, 10_000, this.now);
  }

  /** The endpoint currently connected for this upstream, if any. */
  get endpoint(): string | undefined { return this.current; }

  /** Start a lookup if one is due (refresh interval, or the chosen target unreachable); returns it for tests. */
  tick(): Promise<void> | undefined {
    if (this.stopped || this.inflight) return this.inflight;
    const now = this.now();
    if (this.current !== undefined && this.opts.sink.isConnected(this.current)) this.lastUp = now;
    const failed = this.current === undefined ? this.targets.length === 0 && now >= this.nextRefresh
      : now - this.lastUp >= this.opts.failoverMs;
    if (failed || now >= this.nextRefresh) {
      const reason = failed && this.current !== undefined ? 'failover' : 'refresh';
      this.inflight = this.lookup(reason === 'failover' ? this.current : undefined)
        // e.g. the socket refused an endpoint made of a strange target name: keep what we have
        .catch((err: unknown) => this.warn.warn(`srv-connect ${this.opts.name}`, { name: this.opts.name, err: (err as Error).message }, 'could not follow the SRV record'))
        .finally(() => { this.inflight = undefined; });
    }
    return this.inflight;
  }

  /** Disconnect and forget the chosen endpoint (the Producer is stopping). */
  stop(): void {
    this.stopped = true;
    if (this.current !== undefined) this.opts.sink.disconnect(this.current);
    this.current = undefined;
  }

  private async lookup(failed: string | undefined): Promise<void> {
    const started = this.now();
    // a lookup that fails is retried sooner than the refresh interval, but not in a tight loop
    this.nextRefresh = started + this.opts.refreshMs;
    let targets: Target[] | undefined;
    try {
      let records = orderSrv(await this.opts.resolver.resolveSrv(this.opts.name), this.random);
      if (records.length > MAX_SRV_TARGETS) {
        // each target's name is resolved too: a huge answer must not become a burst of lookups
        this.opts.lookups?.inc(1, { result: 'truncated' });
        this.warn.warn(`srv-truncated ${this.opts.name}`, { name: this.opts.name, records: records.length, kept: MAX_SRV_TARGETS }, 'the SRV record names more targets than are kept; the first in RFC 2782 order are used');
        records = records.slice(0, MAX_SRV_TARGETS);
      }
      targets = await Promise.all(records.map(async (r) => ({ endpoint: await this.endpointOf(r), priority: r.priority })));
      if (targets.length === 0) {
        this.opts.lookups?.inc(1, { result: 'empty' });
        this.warn.warn(`srv-empty ${this.opts.name}`, { name: this.opts.name, keeping: this.targets.map((t) => t.endpoint) }, 'the SRV record names no target; keeping the last good targets');
        targets = undefined;
      } else {
        this.opts.lookups?.inc(1, { result: 'ok' });
      }
    } catch (err) {
      this.opts.lookups?.inc(1, { result: 'failed' });
      this.nextRefresh = started + Math.min(this.opts.refreshMs, Math.max(1000, this.opts.failoverMs));
      this.warn.warn(`srv-failed ${this.opts.name}`, { name: this.opts.name, err: (err as Error).message, keeping: this.targets.map((t) => t.endpoint) }, 'SRV lookup failed; keeping the last good targets');
    }
    if (this.stopped) return;
    if (targets) this.targets = targets;
    // a lookup that brought nothing new moves only off a target that failed
    if (targets || failed !== undefined) this.choose(failed);
  }

  /** Pick the endpoint to connect: keep a healthy current one of the best priority; else the first in RFC order, skipping one that failed. */
  private choose(failed: string | undefined): void {
    const list = this.targets;
    if (list.length === 0) return;
    const best = list[0]!.priority;
    const cur = this.current === undefined ? undefined : list.find((t) => t.endpoint === this.current);
    let next: string;
    if (failed === undefined && cur && cur.priority === best) next = cur.endpoint;
    else if (failed !== undefined) {
      // the next one after the failed target, wrapping around (a single target is tried again)
      const i = list.findIndex((t) => t.endpoint === failed);
      next = list[(i + 1) % list.length]!.endpoint;
    } else next = list[0]!.endpoint;
    if (next === this.current) { if (failed !== undefined) this.lastUp = this.now(); return; }
    const previous = this.current;
    if (previous !== undefined) this.opts.sink.disconnect(previous);
    this.current = next;
    this.lastUp = this.now();
    this.opts.sink.connect(next);
    this.opts.changes?.inc();
    this.opts.log.info({ name: this.opts.name, endpoint: next, previous, reason: failed !== undefined ? 'failover' : 'lookup' }, 'SRV upstream target chosen');
  }

  /** tcp://address:port of a target: its name resolved through the same resolver (libzmq would use the machine's), else left to libzmq. */
  private async endpointOf(r: SrvRecord): Promise<string> {
    const host = r.name.replace(/\.$/, '');
    if (isIP(host) === 4) return `tcp://${host}:${r.port}`;
    if (isIP(host) === 6) return `tcp://[${host}]:${r.port}`;
    try {
      const [a] = await this.opts.resolver.resolve4(host);
      if (a) return `tcp://${a}:${r.port}`;
    } catch { /* try AAAA */ }
    try {
      const [a] = await this.opts.resolver.resolve6(host);
      if (a) return `tcp://[${a}]:${r.port}`;
    } catch { /* leave the name to libzmq's getaddrinfo (/etc/hosts) */ }
    return `tcp://${host}:${r.port}`;
  }
}
