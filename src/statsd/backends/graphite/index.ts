import { connect, type Socket } from 'node:net';
import type { BackendDeps, StatsdBackend } from '../../backend.js';
import type { StatsdConfig } from '../../config.js';
import type { FlushData } from '../../store.js';
import { GraphiteNaming, toPickle, type Datapoint } from './format.js';

/** carbon's pickle receiver refuses messages above 1 MiB; stay well below */
const PICKLE_POINTS_PER_MESSAGE = 5000;

/**
 * Sends each flush to carbon over one long-lived TCP connection (plaintext on
 * `graphite.port`, or pickle on `graphite.pickle_port`). While carbon is
 * unreachable, flushes wait in a buffer bounded by `graphite.buffer_bytes`
 * (the oldest are dropped first) and the connection is retried with
 * exponential backoff between `reconnect_min` and `reconnect_max`.
 */
export class GraphiteBackend implements StatsdBackend {
  readonly name = 'graphite';
  private readonly naming: GraphiteNaming;
  private socket: Socket | undefined;
  private connected = false;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Etsy's graphiteStats, plus Blick's buffer figures */
  readonly stats = { last_flush: 0, last_exception: 0, flush_time: 0, flush_length: 0, dropped_flushes: 0, buffered_bytes: 0 };

  constructor(private readonly config: StatsdConfig, private readonly deps: BackendDeps) {
    this.naming = new GraphiteNaming(config);
    this.backoff = config.graphite.reconnectMinMs;
    this.stats.last_flush = Math.round(deps.now() / 1000);
  }

  private get enabled(): boolean { return this.config.graphite.host !== ''; }
  private get port(): number { return this.config.graphite.protocol === 'pickle' ? this.config.graphite.picklePort : this.config.graphite.port; }

  async start(): Promise<void> {
    if (this.enabled) this.connect();
  }

  flush(data: FlushData): void {
    if (!this.enabled) return;
    const start = Date.now();
    const ts = data.timestamp;
    const pickle = this.config.graphite.protocol === 'pickle';
    const points: Datapoint[] = [];
    let text = '';
    const out = pickle
      ? (path: string, value: number) => { points.push({ path, value, timestamp: ts }); }
      : (path: string, value: number) => { text += path + ' ' + value + ' ' + ts + '\n'; };
    this.naming.lines(data, start, Date.now, out);
    const own = this.stats;
    for (const stat of ['last_exception', 'last_flush', 'flush_time', 'flush_length'] as const) out(this.naming.ownStat(stat), own[stat]);
    const payloads: Buffer[] = [];
    if (pickle) {
      for (let i = 0; i < points.length; i += PICKLE_POINTS_PER_MESSAGE) payloads.push(toPickle(points.slice(i, i + PICKLE_POINTS_PER_MESSAGE)));
    } else {
      payloads.push(Buffer.from(text, 'utf8'));
    }
    for (const p of payloads) this.enqueue(p);
    this.drain();
    own.flush_time = Date.now() - start;
    own.flush_length = payloads.reduce((n, p) => n + p.length, 0);
  }

  private enqueue(p: Buffer): void {
    this.pending.push(p);
    this.pendingBytes += p.length;
    while (this.pendingBytes > this.config.graphite.bufferBytes && this.pending.length > 0) {
      const dropped = this.pending.shift()!;
      this.pendingBytes -= dropped.length;
      this.stats.dropped_flushes++;
      this.deps.log.warn({ part: 'graphite', bytes: dropped.length, buffer_bytes: this.config.graphite.bufferBytes }, 'graphite buffer full: dropped the oldest unsent flush');
    }
    this.stats.buffered_bytes = this.pendingBytes;
  }

  private drain(): void {
    const s = this.socket;
    if (!this.connected || s === undefined) return;
    while (this.pending.length > 0) {
      // keep what the kernel has not taken in our own bounded buffer, not in Node's
      if (s.writableLength > 0 && s.writableNeedDrain) return;
      const p = this.pending.shift()!;
      this.pendingBytes -= p.length;
      s.write(p);
      this.stats.last_flush = Math.round(this.deps.now() / 1000);
    }
    this.stats.buffered_bytes = this.pendingBytes;
  }

  private connect(): void {
    if (this.stopping) return;
    const { host } = this.config.graphite;
    const s = connect({ host, port: this.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.backoff = this.config.graphite.reconnectMinMs;
      this.deps.log.info({ part: 'graphite', host, port: this.port }, 'connected to carbon');
      this.drain();
    });
    s.on('drain', () => this.drain());
    s.on('data', () => { /* carbon sends nothing; ignore */ });
    s.on('error', (err) => {
      this.stats.last_exception = Math.round(this.deps.now() / 1000);
      this.deps.log.warn({ part: 'graphite', host, port: this.port, err: err.message, retry_ms: this.backoff }, 'carbon unreachable; buffering flushes and retrying');
    });
    s.on('close', () => {
      this.connected = false;
      if (this.socket === s) this.socket = undefined;
      if (this.stopping) return;
      this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.connect(); }, this.backoff);
      this.retryTimer.unref();
      this.backoff = Math.min(this.backoff * 2, this.config.graphite.reconnectMaxMs);
    });
  }

  status(write: (backend: string, stat: string, value: number) => void): void {
    for (const [k, v] of Object.entries(this.stats)) write('graphite', k, v);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const s = this.socket;
    if (s === undefined) return;
    this.drain();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { s.destroy(); resolve(); }, 2000);
      s.end(() => { clearTimeout(t); resolve(); });
      s.once('close', () => { clearTimeout(t); resolve(); });
    });
    s.destroy();
  }
}

export function createGraphiteBackend(config: StatsdConfig, deps: BackendDeps): GraphiteBackend {
  return new GraphiteBackend(config, deps);
}
