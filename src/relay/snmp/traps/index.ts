import { createCipheriv } from 'node:crypto';
import dgram from 'node:dgram';
import snmp from 'net-snmp';
import { FailureSignal, type Component, type FailureListener } from '../../../core/component.js';
import { BlickError } from '../../../core/errors.js';
import { RateLimitedLog } from '../../../core/log.js';
import type { SourceDeps } from '../source.js';
import type { TrapsConfig } from './config.js';
import { trapToEvent, type Notification } from './event.js';
import { ReverseNames } from './resolver.js';

export { trapsConfigSchema, type TrapsConfig, type TrapsConfigInput } from './config.js';

/** Why a packet did not become an event, or that it did: the `outcome` label of blick_snmp_traps_total. */
export type TrapOutcome = 'accepted' | 'bad_community' | 'bad_user' | 'malformed' | 'rate_limited' | 'invalid' | 'report';

/** The listener as {@link createTrapListener} returns it: a component that can say where it listens. */
export interface TrapListener extends Component {
  /** the bound UDP address (after start) */
  address(): { address: string; port: number };
}

/** `host:port` / `[v6]:port` → the parts; an empty host binds every address. */
function splitListen(listen: string): { host: string | undefined; port: number; transport: 'udp4' | 'udp6' } {
  const at = listen.lastIndexOf(':');
  let host = listen.slice(0, at);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? undefined : host, port: Number(listen.slice(at + 1)), transport: host.includes(':') ? 'udp6' : 'udp4' };
}

const REFUSED: Record<Exclude<TrapOutcome, 'accepted' | 'report'>, string> = {
  bad_community: 'SNMP trap refused: the community is not in relay.snmp.traps.communities',
  bad_user: 'SNMP trap refused: unknown SNMPv3 user, or a wrong auth/priv key or security level',
  malformed: 'SNMP packet refused: it cannot be decoded as a trap or inform',
  rate_limited: 'SNMP traps dropped: more than relay.snmp.traps.limits.max_traps_per_second',
  invalid: 'SNMP trap dropped: it did not make a valid event',
};

/** net-snmp's error classes for a packet it would not take, as our outcome. */
function classify(err: { name?: string; message?: string; code?: number }): keyof typeof REFUSED {
  const msg = err.message ?? '';
  if (err.name === 'RequestFailedError') {
    if (/community/i.test(msg)) return 'bad_community';
    if (/user/i.test(msg)) return 'bad_user';
  }
  // a digest that does not match, or a PDU that does not decrypt: the wrong key for a known user
  if (err.name === 'ResponseInvalidError' && (err.code === snmp.ResponseInvalidCode.EAuthFailure || err.code === snmp.ResponseInvalidCode.ECouldNotDecrypt)) return 'bad_user';
  return 'malformed';
}


class SnmpTrapListener implements TrapListener {
  readonly name = 'snmp-traps';
  private receiver: { close(cb?: () => void): void } | undefined;
  private socket: dgram.Socket | undefined;
  private running = false;
  private readonly failures = new FailureSignal();
  private readonly warn: RateLimitedLog;
  private readonly now: () => number;
  private readonly traps;
  private readonly dropped;
  private readonly names: ReverseNames | undefined;
  private waiting = 0;
  /** traps waiting for their name: stop() lets them out (each lookup ends within resolver.timeout) */
  private readonly lookups = new Set<Promise<void>>();
  /** whether the packet being handled has had its outcome (each packet is counted once) */
  private decided = false;
  private readonly overflow;
  // token bucket: one second's worth of traps, refilled continuously
  private tokens: number;
  private refilledAt: number;

  constructor(private readonly config: TrapsConfig, private readonly deps: SourceDeps) {
    this.now = deps.now ?? Date.now;
    this.warn = new RateLimitedLog(deps.log, 10_000, this.now);
    this.traps = deps.metrics.counter('blick_snmp_traps_total', 'SNMP packets received on relay.snmp.traps.listen, by outcome (accepted, bad_community, bad_user, malformed, rate_limited, invalid; report: answered with an SNMPv3 report, e.g. engine discovery)');
    this.dropped = deps.metrics.counter('blick_snmp_trap_varbinds_dropped_total', 'Varbinds left out of a trap event (over limits.max_varbinds, or an OID longer than an attribute key)');
    this.overflow = deps.metrics.counter('blick_snmp_trap_resolve_overflow_total', 'Traps sent with the address as host because relay.snmp.traps.resolver.max_pending traps were already waiting for a name');
    this.tokens = config.limits.max_traps_per_second;
    this.refilledAt = this.now();
    if (config.resolve) {
      const lookups = deps.metrics.counter('blick_snmp_trap_resolve_total', 'Reverse DNS lookups of trap senders, by outcome (hit, resolved, failed, timeout)');
      const r = config.resolver;
      this.names = new ReverseNames({
        servers: r.servers, timeoutMs: r.timeout, ttlMs: r.cache_ttl, maxEntries: r.cache_entries, now: this.now,
        onOutcome: (outcome) => lookups.inc(1, { outcome }),
      });
      deps.metrics.gauge('blick_snmp_trap_resolve_cache_entries', 'Addresses held in the reverse DNS cache').collectWith(() => this.names?.size ?? 0);
    }
    // every outcome on /metrics from the start, so a rate can be taken before the first refusal
    for (const outcome of ['accepted', 'bad_community', 'bad_user', 'malformed', 'rate_limited', 'invalid', 'report'] as const) this.traps.inc(0, { outcome });
  }

  onFailure(listener: FailureListener): void { this.failures.listen(listener); }

  address(): { address: string; port: number } {
    if (!this.socket) throw new BlickError('COMPONENT_FAILED', 'the SNMP trap listener is not started');
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  async start(): Promise<void> {
    this.failures.reset();
    this.checkCiphers();
    const { host, port, transport } = splitListen(this.config.listen);
    let socket: dgram.Socket | undefined;
    let bound: Promise<unknown> = Promise.resolve();
    // net-snmp binds its own socket and reads port 0 as "the default" (161/162):
    // hand it ours, bound where we say (an ephemeral port in tests)
    const dgramModule = {
      createSocket: (type: 'udp4' | 'udp6'): dgram.Socket => {
        const s = dgram.createSocket(type);
        bound = new Promise((resolve, reject) => { s.once('listening', resolve); s.once('error', reject); });
        const bind = s.bind.bind(s);
        (s as { bind: unknown }).bind = () => bind(port, host);
        socket = s;
        return s;
      },
    };
    let receiver: any;
    let s!: dgram.Socket;
    try {
      receiver = snmp.createReceiver({
        port: port || 1162, // our bind decides; net-snmp only needs a non-zero number here
        address: host ?? null,
        transport,
        dgramModule,
        includeAuthentication: true,
        disableAuthorization: false,
      }, (err: any, notification: Notification | null) => this.onReceived(err, notification));
      const authorizer = receiver.getAuthorizer();
      for (const c of this.config.communities) authorizer.addCommunity(c);
      for (const u of this.config.users) {
        authorizer.addUser({
          name: u.name,
          level: u.priv ? snmp.SecurityLevel.authPriv : u.auth ? snmp.SecurityLevel.authNoPriv : snmp.SecurityLevel.noAuthNoPriv,
          ...(u.auth ? { authProtocol: snmp.AuthProtocols[u.auth.protocol], authKey: u.auth.key } : {}),
          ...(u.priv ? { privProtocol: snmp.PrivProtocols[u.priv.protocol], privKey: u.priv.key } : {}),
        });
      }
      s = socket!;
      // every packet passes the rate limit first (a flood costs no decoding or
      // crypto), and nothing net-snmp throws on a packet reaches the event loop
      const handlers = s.listeners('message') as ((buf: Buffer, rinfo: dgram.RemoteInfo) => void)[];
      s.removeAllListeners('message');
      s.on('message', (buf: Buffer, rinfo: dgram.RemoteInfo) => {
        if (!this.takeToken()) { this.refuse('rate_limited', rinfo.address); return; }
        this.decided = false;
        for (const h of handlers) {
          try { h(buf, rinfo); } catch (err) { this.refuse('malformed', rinfo.address, (err as Error).message); }
        }
        // net-snmp took the packet without a callback: it answered an SNMPv3
        // discovery (or a reportable message it refused) with a report
        if (!this.decided) this.traps.inc(1, { outcome: 'report' });
      });
      await bound;
    } catch (err) {
      try { socket?.close(); } catch { /* never bound */ }
      throw new BlickError('COMPONENT_FAILED', `relay.snmp.traps cannot listen on ${this.config.listen}: ${(err as Error).message} (a port under 1024 needs privileges; the default is 1162)`, { cause: err });
    }
    this.socket = s;
    this.receiver = receiver;
    this.running = true;
    this.deps.log.info({ listen: this.config.listen, port: s.address().port, communities: this.config.communities.length, users: this.config.users.length }, 'SNMP trap listener started');
  }

  /** A DES user would be refused on every trap (OpenSSL 3 leaves DES out): say so at start instead. */
  private checkCiphers(): void {
    const i = this.config.users.findIndex((u) => u.priv?.protocol === 'des');
    if (i < 0) return;
    try { createCipheriv('des-cbc', Buffer.alloc(8), Buffer.alloc(8)); } catch {
      throw new BlickError('CONFIG_INVALID', `relay.snmp.traps.users.${i}.priv.protocol: des is not available in this Node.js (OpenSSL 3 leaves it out); use aes, or run node with --openssl-legacy-provider`);
    }
  }

  private takeToken(): boolean {
    const max = this.config.limits.max_traps_per_second;
    const t = this.now();
    this.tokens = Math.min(max, this.tokens + ((t - this.refilledAt) / 1000) * max);
    this.refilledAt = t;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  private refuse(outcome: keyof typeof REFUSED, from: string | undefined, detail?: string): void {
    this.decided = true;
    this.traps.inc(1, { outcome });
    // no community or user name in the log line: a wrong one may be another system's secret
    this.warn.warn(`snmp-${outcome}`, { from, outcome, ...(detail && outcome === 'malformed' ? { detail: detail.slice(0, 200) } : {}) }, REFUSED[outcome]);
  }

  private onReceived(err: any, notification: Notification | null): void {
    try {
      if (err) {
        if (!err.rinfo && typeof err.syscall === 'string') {
          // the socket itself failed (not a packet): the listener is deaf now
          this.deps.log.error({ err }, 'SNMP trap socket failed');
          if (this.running) this.failures.fail(new BlickError('COMPONENT_FAILED', `the SNMP trap socket failed: ${err.message}`, { cause: err }));
          return;
        }
        this.refuse(classify(err), err.rinfo?.address, err.error?.message ?? err.message);
        return;
      }
      if (notification) this.accept(notification);
    } catch (e) {
      this.refuse('malformed', notification?.rinfo?.address, (e as Error).message);
    }
  }

  private accept(n: Notification): void {
    this.decided = true;
    const { event, address, dropped } = trapToEvent(n, this.config, this.now());
    if (dropped > 0) this.dropped.inc(dropped);
    if (!this.names) { this.emit(event, address); return; }
    if (this.waiting >= this.config.resolver.max_pending) {
      this.overflow.inc();
      this.warn.warn('snmp-resolve-overflow', { from: address, max_pending: this.config.resolver.max_pending }, 'SNMP trap sent with its address as host: too many traps are waiting for reverse DNS');
      this.emit(event, address);
      return;
    }
    this.waiting++;
    const done = this.names.lookup(address).then((name) => {
      this.waiting--;
      this.lookups.delete(done);
      if (name) event.host = name;
      this.emit(event, address);
    });
    this.lookups.add(done);
  }

  private emit(event: Parameters<SourceDeps['emit']>[0], from: string): void {
    try {
      this.deps.emit(event);
      this.traps.inc(1, { outcome: 'accepted' });
    } catch (err) {
      this.refuse('invalid', from, (err as Error).message);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    const receiver = this.receiver;
    this.receiver = undefined;
    this.socket = undefined;
    if (!receiver) return;
    await new Promise<void>((resolve) => {
      try { receiver.close(() => resolve()); } catch { resolve(); }
    });
    // the traps received before the socket closed still go out (the relay stops its producer after us)
    await Promise.all([...this.lookups]);
  }
}

/**
 * The SNMP trap listener of `relay.snmp.traps`: receives v1, v2c (community
 * allow-list) and v3 (USM users) traps and informs on a UDP port with net-snmp's
 * Receiver, and emits one event per trap (see ./README.md, "Events produced").
 * Refused packets are counted in `blick_snmp_traps_total{outcome}` and logged
 * rate-limited; no packet can stop the listener. A socket that fails while
 * running is reported through `onFailure`.
 *
 * @example
 * const traps = createTrapListener(trapsConfigSchema.parse({ listen: '0.0.0.0:1162', communities: ['public'] }),
 *   { emit: (e) => producer.send(makeEvent(e, { source: 'snmp' })), log, metrics });
 * await traps.start();
 */
export function createTrapListener(config: TrapsConfig, deps: SourceDeps): TrapListener {
  return new SnmpTrapListener(config, deps);
}
