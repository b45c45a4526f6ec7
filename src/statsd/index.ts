import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { FailureSignal, type Component, type FailureListener } from '../core/component.js';
import { BlickError } from '../core/errors.js';
import type { EventInput } from '../core/event.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import { Registry, type Counter } from '../core/metrics.js';
import { AdminServer, type AdminKind, type AdminTarget } from './admin.js';
import { LocalAggregator, WorkerAggregator, type Aggregator, type MetricKind, type StoreStats } from './aggregator.js';
import type { BackendFactory, StatsdBackend } from './backend.js';
import { createGraphiteBackend } from './backends/graphite/index.js';
import { splitHostPort, statsdConfigSchema, type StatsdConfig, type StatsdConfigInput } from './config.js';
import { EventsBackend } from './events.js';
import { MetricStore, type FlushData } from './store.js';

export { statsdConfigSchema, readEtsyConfigFile, type StatsdConfig, type StatsdConfigInput } from './config.js';
export { parseLine, parsePacket, sanitizeKey, type MetricSink } from './parser.js';
export { MetricStore, type FlushData, type TimerData } from './store.js';
export type { StatsdBackend, BackendFactory } from './backend.js';

/** The built-in backends, by name (Etsy's `backends` list). */
export const BACKENDS: Record<string, BackendFactory> = {
  graphite: createGraphiteBackend,
};

/** What {@link createStatsd} needs besides the configuration. */
export interface StatsdDeps {
  log?: Logger;
  /** the Blick side channel: receives every flush as metric events */
  emit?: (events: EventInput[]) => void;
  /** clock (unix ms); flush timestamps and admin figures use it */
  now?: () => number;
  /** Prometheus counters (dropped names and side-channel series); a private one if not given */
  metrics?: Registry;
}

/** Addresses actually bound (ports resolved when 0 was asked for). */
export interface StatsdAddresses { udp?: number; tcp?: number; admin?: number; /** the Unix socket's path */ socket?: string }

/**
 * Blick's statsd daemon: Etsy statsd's protocol, flush semantics, Graphite
 * naming and admin interface, plus DogStatsD tags, `h`/`d` types and the
 * metric-event side channel.
 *
 * @example
 * const statsd = createStatsd(statsdConfigSchema.parse({ udp: '127.0.0.1:8125' }), { emit: (evs) => producer.send(evs) });
 * await statsd.start();
 */
export class StatsdServer implements Component {
  readonly name = 'statsd';
  /** the metrics, in single-thread mode only (in worker mode the worker holds them: use {@link metrics}) */
  readonly store: MetricStore | undefined;
  /** 1 when parsing and aggregation run in a worker thread, 0 on the main thread (config `workers`) */
  readonly workers: 0 | 1;
  private aggregator: Aggregator;
  private lastMessageSeen = 0;
  readonly backends: StatsdBackend[] = [];
  health: 'up' | 'down';
  private readonly log: Logger;
  private readonly badLog: RateLimitedLog;
  private readonly now: () => number;
  /** the Prometheus counters of this daemon */
  readonly registry: Registry;
  private readonly droppedCounter: Counter;
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private unix: Server | undefined;
  private readonly tcpClients = new Set<Socket>();
  private admin: AdminServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startupSeconds = 0;
  private running = false;
  private readonly failures = new FailureSignal();
  /** error events on the UDP/TCP listeners since start (each logged, rate limited; the listener stays) */
  listenerErrors = 0;
  readonly addresses: StatsdAddresses = {};

  constructor(readonly config: StatsdConfig, deps: StatsdDeps = {}) {
    this.log = deps.log ?? createLogger('statsd');
    this.now = deps.now ?? Date.now;
    this.badLog = new RateLimitedLog(this.log, 10_000, this.now);
    this.health = config.healthStatus;
    this.workers = config.workers === 'auto' ? (availableParallelism() > 1 ? 1 : 0) : config.workers;
    this.aggregator = this.local();
    this.registry = deps.metrics ?? new Registry();
    this.droppedCounter = this.registry.counter('blick_statsd_metrics_dropped_total', 'statsd values dropped because their name was new and over statsd.max_names or statsd.max_new_names_per_interval');
    const backendDeps = { log: this.log, now: this.now, metrics: this.registry };
    this.backends.push(BACKENDS.graphite!(config, backendDeps));
    if (deps.emit) this.backends.push(new EventsBackend(config, deps.emit, backendDeps));
    for (const u of config.unused) this.log.warn({ key: u.key }, `statsd key ${u.key} is not used by Blick: ${u.why}`);
  }

  /** The in-process store (single-thread mode; also before start in worker mode). */
  private local(): LocalAggregator {
    const store = (this as { store: MetricStore | undefined }).store = new MetricStore(this.config);
    store.onBad = (line, reason) => {
      this.badLog.warn('bad-line', { line: line.length > 200 ? line.slice(0, 200) + '…' : line, reason }, 'bad statsd line');
    };
    return new LocalAggregator(store, this.config.keyNameSanitize);
  }

  /** Feed one packet, as if it had arrived on a socket. */
  handlePacket(text: string): void {
    if (this.config.dumpMessages) this.log.info({ packet: text }, 'received');
    this.aggregator.text(text);
    this.lastMessageSeen = this.now();
  }

  private handleDatagram(msg: Buffer): void {
    if (this.config.dumpMessages) this.log.info({ packet: msg.toString('utf8') }, 'received');
    this.aggregator.packet(msg);
    this.lastMessageSeen = this.now();
  }

  /** A snapshot of one kind of metric as held now (sets: name → members). */
  metrics(kind: MetricKind): Promise<Map<string, unknown>> {
    return this.aggregator.metrics(kind);
  }

  /** Cumulative bad lines and the number of names held. */
  storeStats(): Promise<StoreStats> {
    return this.aggregator.stats();
  }

  /** Worker mode only: the aggregator (tests reach the crash hook and restart count through it). */
  get workerAggregator(): WorkerAggregator | undefined {
    return this.aggregator instanceof WorkerAggregator ? this.aggregator : undefined;
  }

  /** Heard when the UDP or TCP listener closes while running (statsd would be deaf). */
  onFailure(listener: FailureListener): void { this.failures.listen(listener); }

  /**
   * A listener that closes while running is reported, so the daemon stops
   * instead of running deaf. An error event alone is not a death: the socket
   * stays bound and keeps receiving (e.g. ECONNABORTED after `ss -K`), so it is
   * counted and logged, rate limited.
   */
  private listenerDied(which: 'udp' | 'tcp' | 'socket', address: string): void {
    if (!this.running) return;
    this.log.error({ part: which, address }, `statsd ${which} listener closed while running`);
    this.failures.fail(new BlickError('COMPONENT_FAILED', `the statsd ${which} listener on ${address} closed while running`));
  }

  private listenerError(which: 'udp' | 'tcp' | 'socket', address: string, err: Error): void {
    this.listenerErrors++;
    this.badLog.warn(`${which}-error`, { part: which, address, err: err.message, errors: this.listenerErrors }, `statsd ${which} listener error; still listening`);
  }

  async start(): Promise<void> {
    this.failures.reset();
    this.startupSeconds = Math.round(this.now() / 1000);
    for (const b of this.backends) await b.start();
    if (this.workers === 1 && !(this.aggregator instanceof WorkerAggregator)) {
      (this as { store: MetricStore | undefined }).store = undefined;
      this.aggregator = new WorkerAggregator(this.config, this.log);
    }
    try {
      if (this.config.udp) this.addresses.udp = await this.listenUdp(this.config.udp);
      if (this.config.tcp) {
        const [host, port] = splitHostPort(this.config.tcp);
        this.tcp = this.streamServer();
        this.addresses.tcp = await this.listenStream(this.tcp, 'tcp', { host, port });
      }
      if (this.config.socket) {
        const path = this.config.socket;
        await removeStaleSocket(path);
        this.unix = this.streamServer();
        await this.listenStream(this.unix, 'socket', { path });
        if (this.config.socketMode !== null) chmodSync(path, this.config.socketMode);
        this.addresses.socket = path;
      }
      if (this.config.admin) {
        const [h, p] = splitHostPort(this.config.admin);
        this.admin = new AdminServer(this.adminTarget(), this.log, this.now);
        this.addresses.admin = await this.admin.listen(h, p);
      }
    } catch (err) {
      await this.closeListeners();
      await this.aggregator.close();
      throw err;
    }
    this.running = true;
    this.schedule();
    this.log.info({ ...this.addresses, flush_interval_ms: this.config.flushInterval }, 'statsd listening');
  }

  /** Etsy's schedule: flushes at startup + k × flushInterval, re-aimed after each flush. */
  private schedule(): void {
    const interval = this.config.flushInterval;
    const now = this.now();
    const attempt = Math.round((now - this.startupSeconds * 1000) / interval) + 1;
    const delay = Math.max(0, this.startupSeconds * 1000 + attempt * interval - now);
    this.timer = setTimeout(() => {
      this.flush();
      if (this.running) this.schedule();
    }, delay);
  }

  /**
   * Flush now to every backend (also what the timer does). In single-thread
   * mode the backends have the data when this returns; in worker mode when
   * the promise resolves (the flush sees every packet received before the call).
   */
  flush(): Promise<void> {
    return this.aggregator.flush(this.now(), (data: FlushData) => {
      if (data.dropped > 0) this.namesDropped(data);
      for (const b of this.backends) {
        try { b.flush(data); } catch (err) { this.log.error({ part: b.name, err }, 'backend failed to flush'); }
      }
    }).catch((err: unknown) => { this.log.error({ err }, 'statsd flush failed'); });
  }

  private namesDropped(data: FlushData): void {
    this.droppedCounter.inc(data.dropped);
    const c = this.config;
    this.badLog.warn('names-dropped', { dropped_values: data.dropped, example: data.droppedExample, max_names: c.maxNames, max_new_names_per_interval: c.maxNewNamesPerInterval },
      'statsd values for new names were dropped (over statsd.max_names or statsd.max_new_names_per_interval); raise them if these names are wanted');
  }

  private listenUdp(address: string): Promise<number> {
    const [host, port] = splitHostPort(address);
    const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 8 * 1024 * 1024 });
    this.udp = sock;
    sock.on('message', (msg) => this.handleDatagram(msg));
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        const bound = `${host}:${sock.address().port}`;
        sock.on('error', (err) => this.listenerError('udp', bound, err));
        sock.on('close', () => { if (this.udp === sock) this.listenerDied('udp', bound); });
        try { sock.setRecvBufferSize(8 * 1024 * 1024); } catch { /* capped by net.core.rmem_max */ }
        resolve(sock.address().port);
      });
    });
  }

  /** The stream protocol (Etsy's ./servers/tcp), for a TCP port or a Unix socket. */
  private streamServer(): Server {
    const max = this.config.maxLineBytes;
    return createServer((s) => {
      this.tcpClients.add(s);
      s.setEncoding('utf8');
      let buf = '';
      s.on('data', (chunk: string) => {
        buf += chunk;
        // Etsy: each chunk up to its last newline is one packet
        const last = buf.lastIndexOf('\n');
        if (last !== -1) {
          const packet = buf.slice(0, last + 1);
          buf = buf.slice(last + 1);
          this.handlePacket(packet);
        }
        if (buf.length > max) {
          this.aggregator.bad(buf.slice(0, 200), `line longer than ${max} bytes`);
          buf = '';
        }
      });
      s.on('error', (err) => this.log.debug({ part: 'tcp', err: err.message }, 'statsd tcp client error'));
      s.on('close', () => this.tcpClients.delete(s));
    });
  }

  private listenStream(server: Server, which: 'tcp' | 'socket', where: { host: string; port: number } | { path: string }): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        const bound = 'path' in where ? 0 : (server.address() as { port: number }).port;
        const label = 'path' in where ? where.path : `${where.host}:${bound}`;
        server.on('error', (err) => this.listenerError(which, label, err));
        server.on('close', () => { if (this.tcp === server || this.unix === server) this.listenerDied(which, label); });
        resolve(bound);
      };
      if ('path' in where) server.listen(where.path, listening); else server.listen(where.port, where.host, listening);
    });
  }

  private adminTarget(): AdminTarget {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      metrics: (kind: AdminKind) => this.aggregator.metrics(kind),
      delete: (kind: AdminKind, names: string[]) => this.aggregator.delete(kind, names),
      get health() { return self.health; },
      set health(v: 'up' | 'down') { self.health = v; },
      uptimeSeconds: () => Math.round(this.now() / 1000) - this.startupSeconds,
      stats: async (write: (group: string, metric: string, value: number) => void) => {
        const s = await this.aggregator.stats();
        write('messages', 'last_msg_seen', Math.round((this.lastMessageSeen || this.startupSeconds * 1000) / 1000));
        write('messages', 'bad_lines_seen', s.badLinesTotal);
        if (this.aggregator instanceof WorkerAggregator) write('messages', 'worker_restarts', this.aggregator.restarts);
        write('messages', 'metrics_dropped', s.droppedTotal);
        for (const b of this.backends) b.status(write);
      },
      config: () => flatConfig(this.config),
    };
  }

  private async closeListeners(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    if (udp) await new Promise<void>((r) => { try { udp.close(() => r()); } catch { r(); } });
    for (const s of this.tcpClients) s.destroy();
    const streams = [this.tcp, this.unix];
    this.tcp = undefined;
    this.unix = undefined;
    // closing a Unix socket's server also removes its file
    for (const server of streams) if (server) await new Promise<void>((r) => server.close(() => r()));
    await this.admin?.close();
    this.admin = undefined;
  }

  /** Stop listening, flush once more (Etsy flushes on exit), then close the backends. */
  async stop(): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.closeListeners();
    if (wasRunning) {
      // through the worker in worker mode: it still has every packet received before the listeners closed
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<boolean>((r) => { timer = setTimeout(() => r(true), 10_000); });
      if (await Promise.race([this.flush().then(() => false), gaveUp])) this.log.error('the last flush did not finish within 10 s; stopping without it');
      clearTimeout(timer);
    }
    await this.aggregator.close();
    for (const b of this.backends) {
      try { await b.stop(); } catch (err) { this.log.warn({ part: b.name, err }, 'backend did not stop cleanly'); }
    }
  }
}

function flatConfig(c: StatsdConfig): Record<string, unknown> {
  const { graphite, unused: _unused, ...rest } = c;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) out[k] = Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : x)).join(',') : v;
  out.graphite = graphite;
  return out;
}

/**
 * A socket file left by a daemon that was killed is removed, so a restart
 * can listen again; a live one (something answers) or any other kind of
 * file is never touched, and starting fails with what to do.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try { isSocket = lstatSync(path).isSocket(); } catch { return; }
  if (!isSocket) throw new BlickError('CONFIG_INVALID', `statsd socket ${path} exists and is not a socket; Blick does not replace it: remove it or choose another path`);
  const refused = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const c = connect(path, () => { c.destroy(); resolve(undefined); });
    c.on('error', (err) => resolve(err));
  });
  if (refused?.code !== 'ECONNREFUSED') {
    throw new BlickError('COMPONENT_FAILED', `statsd socket ${path} ${refused ? `cannot be checked (${refused.message})` : 'is in use by another process'}; stop that process or choose another path`);
  }
  unlinkSync(path);
}

/**
 * Build the statsd daemon from the `statsd:` section (raw YAML/Etsy keys, or
 * an already resolved {@link StatsdConfig}).
 */
export function createStatsd(config: StatsdConfig | StatsdConfigInput, deps: StatsdDeps = {}): StatsdServer {
  const resolved = isResolved(config) ? config : statsdConfigSchema.parse(config);
  return new StatsdServer(resolved, deps);
}

function isResolved(c: unknown): c is StatsdConfig {
  const g = (c as { graphite?: { bufferBytes?: unknown } } | null)?.graphite;
  return typeof (c as { flushInterval?: unknown }).flushInterval === 'number' && typeof g?.bufferBytes === 'number';
}
