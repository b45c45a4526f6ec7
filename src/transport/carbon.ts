import { connect, type Socket } from 'node:net';
import type { Logger } from '../core/log.js';

/** One Graphite datapoint (`timestamp` in unix seconds). */
export interface Datapoint { path: string; value: number; timestamp: number }

/** carbon's pickle receiver refuses messages above 1 MiB; stay well below */
export const PICKLE_POINTS_PER_MESSAGE = 5000;

/** Graphite's plaintext protocol: `path value timestamp\n` per point. */
export function toPlaintext(points: readonly Datapoint[]): Buffer {
  let text = '';
  for (const m of points) text += m.path + ' ' + m.value + ' ' + m.timestamp + '\n';
  return Buffer.from(text, 'utf8');
}

/**
 * Graphite's pickle protocol as Etsy writes it (protocol 0: a list of
 * `(path, (timestamp, 'value'))` tuples behind a 4-byte big-endian length).
 */
export function toPickle(points: readonly Datapoint[]): Buffer {
  let body = '(l';
  for (const m of points) {
    body += "(S'" + m.path + "'\n(L" + m.timestamp + "L\nS'" + m.value + "'\ntta";
  }
  body += '.';
  const bytes = Buffer.from(body, 'utf8');
  const buf = Buffer.allocUnsafe(4 + bytes.length);
  buf.writeUInt32BE(bytes.length, 0);
  bytes.copy(buf, 4);
  return buf;
}

/** Points as the messages carbon takes, in chunks of at most {@link PICKLE_POINTS_PER_MESSAGE} points. */
export function carbonMessages(points: readonly Datapoint[], protocol: 'text' | 'plaintext' | 'pickle'): { message: Buffer; items: number }[] {
  const out: { message: Buffer; items: number }[] = [];
  for (let i = 0; i < points.length; i += PICKLE_POINTS_PER_MESSAGE) {
    const chunk = points.slice(i, i + PICKLE_POINTS_PER_MESSAGE);
    out.push({ message: protocol === 'pickle' ? toPickle(chunk) : toPlaintext(chunk), items: chunk.length });
  }
  return out;
}

/** Options of a {@link CarbonConnection}. */
export interface CarbonConnectionOptions {
  host: string;
  port: number;
  /** first retry after this long; doubled per failure up to reconnectMaxMs */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** unsent bytes held while carbon is unreachable; the oldest messages are dropped beyond it */
  maxQueueBytes: number;
  /** unsent items (points, or messages when the caller does not count points) held [unbounded but for bytes] */
  maxQueueItems?: number;
  log: Logger;
  /** what the log lines call the caller (`graphite`, `server graphite`) */
  part: string;
  /** a message was dropped from the queue (its bytes and items) */
  onDrop?: (bytes: number, items: number) => void;
  /** a message was handed to the socket (its bytes and items) */
  onWrite?: (bytes: number, items: number) => void;
  /** the connection failed */
  onError?: (err: Error) => void;
}

/**
 * One long-lived TCP connection to carbon. While carbon is unreachable,
 * messages wait in a queue bounded in bytes and count (the oldest are
 * dropped first), and the connection is retried with exponential backoff.
 * Writes never queue inside Node beyond one message: what the kernel has not
 * taken stays in this bounded queue.
 */
export class CarbonConnection {
  private socket: Socket | undefined;
  private connected = false;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private readonly pending: { message: Buffer; items: number }[] = [];
  private pendingBytes = 0;
  private pendingItems = 0;

  constructor(private readonly o: CarbonConnectionOptions) {
    this.backoff = o.reconnectMinMs;
  }

  /** bytes waiting to be written */
  get queuedBytes(): number { return this.pendingBytes; }
  /** items (points) waiting to be written */
  get queuedItems(): number { return this.pendingItems; }

  start(): void {
    this.stopping = false;
    this.connect();
  }

  /** Queue one message (a plaintext block or one pickle) of `items` points and write what the socket takes. */
  send(message: Buffer, items = 1): void {
    this.pending.push({ message, items });
    this.pendingBytes += message.length;
    this.pendingItems += items;
    const maxItems = this.o.maxQueueItems ?? Infinity;
    while ((this.pendingBytes > this.o.maxQueueBytes || this.pendingItems > maxItems) && this.pending.length > 0) {
      const dropped = this.pending.shift()!;
      this.pendingBytes -= dropped.message.length;
      this.pendingItems -= dropped.items;
      this.o.onDrop?.(dropped.message.length, dropped.items);
    }
    this.drain();
  }

  private drain(): void {
    const s = this.socket;
    if (!this.connected || s === undefined) return;
    while (this.pending.length > 0) {
      if (s.writableLength > 0 && s.writableNeedDrain) return;
      const p = this.pending.shift()!;
      this.pendingBytes -= p.message.length;
      this.pendingItems -= p.items;
      s.write(p.message);
      this.o.onWrite?.(p.message.length, p.items);
    }
  }

  private connect(): void {
    if (this.stopping) return;
    const { host, port, log, part } = this.o;
    const s = connect({ host, port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.backoff = this.o.reconnectMinMs;
      log.info({ part, host, port }, 'connected to carbon');
      this.drain();
    });
    s.on('drain', () => this.drain());
    s.on('data', () => { /* carbon sends nothing; ignore */ });
    s.on('error', (err) => {
      this.o.onError?.(err);
      log.warn({ part, host, port, err: err.message, retry_ms: this.backoff }, 'carbon unreachable; queueing and retrying');
    });
    s.on('close', () => {
      this.connected = false;
      if (this.socket === s) this.socket = undefined;
      if (this.stopping) return;
      this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.connect(); }, this.backoff);
      this.retryTimer.unref();
      this.backoff = Math.min(this.backoff * 2, this.o.reconnectMaxMs);
    });
  }

  /** Write what the socket takes, close it (at most 2 s), stop retrying. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
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
