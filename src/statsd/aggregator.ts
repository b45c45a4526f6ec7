import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/log.js';
import type { AdminKind } from './admin.js';
import type { StatsdConfig } from './config.js';
import { parsePacket } from './parser.js';
import { deleteStats, MetricStore, type FlushData } from './store.js';

/** The kinds of metrics that can be read whole (admin listings, tests). */
export type MetricKind = AdminKind | 'sets';

/** What the daemon's figures for the admin `stats` command need from the store. */
export interface StoreStats { badLinesTotal: number; size: number; droppedTotal: number }

/**
 * Where packets are parsed and aggregated: on the main thread
 * ({@link LocalAggregator}) or in one worker thread ({@link WorkerAggregator}).
 * Every call is applied in call order, so a flush or an admin command sees
 * exactly the packets handed in before it.
 */
export interface Aggregator {
  /** one datagram, as received */
  packet(data: Buffer): void;
  /** one TCP packet (lines up to the last newline of a chunk) */
  text(text: string): void;
  bad(line: string, reason: string): void;
  /** Flush at `nowMs`; `consume` gets the data (synchronously in local mode, before this returns). */
  flush(nowMs: number, consume: (data: FlushData) => void): Promise<void>;
  metrics(kind: MetricKind): Promise<Map<string, unknown>>;
  delete(kind: AdminKind, names: string[]): Promise<string>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}

/** Single-thread mode: the store lives on the main thread. */
export class LocalAggregator implements Aggregator {
  constructor(readonly store: MetricStore, private readonly sanitize: boolean) {}
  packet(data: Buffer): void { this.text(data.toString('utf8')); }
  text(text: string): void {
    this.store.packet();
    parsePacket(text, this.store, this.sanitize);
  }
  bad(line: string, reason: string): void { this.store.bad(line, reason); }
  flush(nowMs: number, consume: (data: FlushData) => void): Promise<void> {
    this.store.flush(nowMs, consume);
    return Promise.resolve();
  }
  metrics(kind: MetricKind): Promise<Map<string, unknown>> {
    return Promise.resolve(kind === 'sets' ? new Map([...this.store.sets].map(([k, v]) => [k, [...v]])) : this.store[kind]);
  }
  delete(kind: AdminKind, names: string[]): Promise<string> { return Promise.resolve(deleteStats(this.store[kind], names)); }
  stats(): Promise<StoreStats> { return Promise.resolve(storeStats(this.store)); }
  async close(): Promise<void> {}
}

// ---- the messages between the main thread and the worker ----

/** What a flush reply carries; enough to rebuild the state after a crash. */
export interface FlushReply { data: FlushData; gaugesTTL: ReadonlyMap<string, number> | undefined; badLinesTotal: number; droppedTotal: number }

/** The admin figures of a store, in either thread. */
export function storeStats(store: MetricStore): StoreStats {
  return { badLinesTotal: store.badLinesTotal, size: store.size(), droppedTotal: store.droppedTotal };
}

export interface WorkerInit {
  config: StatsdConfig;
  /** the last flush of a crashed predecessor: names, gauges and their TTLs carry on */
  restore?: FlushReply;
}

export type ToWorker =
  | { t: 'p'; buf: ArrayBuffer; len: number }
  | { t: 'bad'; line: string; reason: string }
  | { t: 'flush'; id: number; now: number }
  | { t: 'metrics'; id: number; kind: MetricKind }
  | { t: 'delete'; id: number; kind: AdminKind; names: string[] }
  | { t: 'stats'; id: number }
  | { t: 'crash' };

export type FromWorker =
  | { t: 'r'; id: number; v: unknown }
  | { t: 'log'; obj: Record<string, unknown>; msg: string };

/** Packets per batch at most; a batch also goes after BATCH_MS. */
export const BATCH_PACKETS = 512;
export const BATCH_MS = 1;
const BATCH_BYTES = 128 * 1024;

interface Pending { resolve(v: unknown): void; reject(err: Error): void; packets: number }

/**
 * Worker mode: the main thread only receives. Raw datagrams are copied,
 * length-prefixed, into a batch buffer that is transferred (not copied) to ONE
 * worker thread every {@link BATCH_PACKETS} packets or {@link BATCH_MS} ms;
 * flushes and admin commands are messages on the same queue, so the order of
 * packets, flushes and commands is kept. A worker that dies is logged and
 * replaced; the packets it had not flushed are lost (and counted in the log),
 * the state of its last flush (names, gauges) is carried over.
 */
export class WorkerAggregator implements Aggregator {
  private worker: Worker | undefined;
  /** worker threads started and not yet exited (a crashed one may still be terminating) */
  private readonly live = new Set<Worker>();
  private droppedWhileDown = 0;
  private buf: Buffer | undefined;
  private off = 0;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly sendBatch = () => this.send();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** packets handed to the current worker since the last flush request */
  private sinceFlush = 0;
  private lastFlush: FlushReply | undefined;
  private closing = false;
  private readonly crashes: number[] = [];
  /** how many times a worker was replaced */
  restarts = 0;
  /** called when a worker has been replaced (tests, metrics) */
  onRestart: ((lostPackets: number) => void) | undefined;

  constructor(private readonly config: StatsdConfig, private readonly log: Logger, private readonly entry = new URL('./worker.js', import.meta.url)) {
    this.spawn();
  }

  private spawn(): void {
    const init: WorkerInit = { config: this.config, ...(this.lastFlush ? { restore: this.lastFlush } : {}) };
    const w = new Worker(this.entry, { workerData: init, name: 'statsd-aggregator' });
    this.worker = w;
    this.live.add(w);
    w.once('exit', () => { this.live.delete(w); });
    w.on('message', (m: FromWorker) => {
      if (m.t === 'log') { this.log.warn(m.obj, m.msg); return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m.v);
    });
    w.on('error', (err) => { if (this.worker === w) this.crashed(err); });
    w.on('exit', (code) => { if (this.worker === w && !this.closing) this.crashed(new Error(`the statsd worker exited with code ${code}`)); });
  }

  private crashed(err: Error): void {
    // the batch not sent yet goes to the successor; what the dead worker had is lost
    let lost = this.sinceFlush;
    for (const p of this.pending.values()) lost += p.packets;
    const old = this.worker!;
    // requests in flight die with the worker; their packets are in `lost`
    const failed = [...this.pending.values()];
    this.pending.clear();
    this.sinceFlush = 0;
    this.restarts++;
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length > 0 && this.crashes[0]! < now - 60_000) this.crashes.shift();
    this.log.error({ err, lost_packets: lost, restarts: this.restarts }, 'the statsd worker crashed; metrics received since the last flush are lost; restarting it');
    void old.terminate().catch(() => {});
    // a worker that cannot even start must not spin: after 5 crashes in a minute, wait a second between attempts
    if (this.crashes.length > 5) {
      this.worker = undefined;
      setTimeout(() => {
        if (this.closing) return;
        if (this.droppedWhileDown > 0) this.log.error({ lost_packets: this.droppedWhileDown }, 'packets dropped while the statsd worker was restarting');
        this.droppedWhileDown = 0;
        this.spawn();
      }, 1000).unref();
    } else {
      this.spawn();
    }
    for (const p of failed) p.reject(new Error('the statsd worker crashed'));
    this.onRestart?.(lost);
  }

  private post(m: ToWorker, transfer?: ArrayBuffer[]): boolean {
    if (!this.worker) return false; // between crash and restart (crash loop)
    this.worker.postMessage(m, transfer);
    return true;
  }

  private request<T>(m: ToWorker, packets = 0): Promise<T> {
    this.send();
    if (!this.worker) return Promise.reject(new Error('the statsd worker is restarting'));
    return new Promise<T>((resolve, reject) => {
      this.pending.set((m as { id: number }).id, { resolve: resolve as (v: unknown) => void, reject, packets });
      this.post(m);
    });
  }

  private id(): number { return this.nextId++; }

  /** Send what is batched. */
  private send(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.count === 0 || !this.buf) return;
    const ab = this.buf.buffer as ArrayBuffer;
    if (this.post({ t: 'p', buf: ab, len: this.off }, [ab])) this.sinceFlush += this.count;
    else this.droppedWhileDown += this.count;
    this.buf = undefined;
    this.off = 0;
    this.count = 0;
  }

  private room(bytes: number): Buffer {
    let b = this.buf;
    if (b !== undefined && this.off + bytes <= b.length) return b;
    if (b !== undefined) this.send();
    // allocUnsafeSlow: an ArrayBuffer of its own (not the shared pool), so it can be transferred
    b = Buffer.allocUnsafeSlow(Math.max(bytes, BATCH_BYTES));
    this.buf = b;
    return b;
  }

  private added(): void {
    if (++this.count >= BATCH_PACKETS) this.send();
    else if (this.timer === undefined) this.timer = setTimeout(this.sendBatch, BATCH_MS);
  }

  packet(data: Buffer): void {
    const n = data.length;
    const b = this.room(n + 4);
    const o = this.off;
    b[o] = n & 0xff; b[o + 1] = (n >>> 8) & 0xff; b[o + 2] = (n >>> 16) & 0xff; b[o + 3] = n >>> 24;
    data.copy(b, o + 4);
    this.off = o + 4 + n;
    this.added();
  }

  text(text: string): void {
    const n = Buffer.byteLength(text, 'utf8');
    const b = this.room(n + 4);
    b.writeUInt32LE(n, this.off);
    b.write(text, this.off + 4, n, 'utf8');
    this.off += 4 + n;
    this.added();
  }

  bad(line: string, reason: string): void {
    this.send();
    this.post({ t: 'bad', line, reason });
  }

  async flush(nowMs: number, consume: (data: FlushData) => void): Promise<void> {
    this.send();
    const packets = this.sinceFlush;
    this.sinceFlush = 0;
    const reply = await this.request<FlushReply>({ t: 'flush', id: this.id(), now: nowMs }, packets);
    this.lastFlush = reply;
    consume(reply.data);
  }

  metrics(kind: MetricKind): Promise<Map<string, unknown>> {
    return this.request<Map<string, unknown>>({ t: 'metrics', id: this.id(), kind }).then((m) => (kind === 'sets' ? new Map([...(m as Map<string, Set<string>>)].map(([k, v]) => [k, [...v]])) : m));
  }

  delete(kind: AdminKind, names: string[]): Promise<string> {
    return this.request<string>({ t: 'delete', id: this.id(), kind, names });
  }

  stats(): Promise<StoreStats> {
    return this.request<StoreStats>({ t: 'stats', id: this.id() });
  }

  /** The worker thread's event-loop utilisation (performance.eventLoopUtilization), for benchmarks. */
  eventLoopUtilization(prev?: EventLoopUtilization): EventLoopUtilization | undefined {
    return this.worker?.performance.eventLoopUtilization(prev);
  }

  /** Worker threads started and not yet exited (0 after close). */
  get threads(): number { return this.live.size; }

  /** Test hook: make the worker throw, as a bug would. */
  crashForTest(): void {
    this.send();
    this.post({ t: 'crash' });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    for (const p of this.pending.values()) p.reject(new Error('the statsd worker was stopped'));
    this.pending.clear();
    // a crashed worker's terminate() may still be under way: wait for every thread, not only the current one
    await Promise.all([...this.live].map((w) => w.terminate().catch(() => undefined)));
  }
}
