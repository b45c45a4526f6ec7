import { BlickError } from '../../../../core/errors.js';

/** One stream client's connection as the budget sees it. */
export interface StreamSink {
  /** bytes written but not yet taken by the kernel (`res.writableLength`) */
  readonly unsent: number;
  write(chunk: string): void;
  /** close at once, discarding what is unsent (ending would keep it queued) */
  destroy(): void;
}

/** The bounds on the live stream (`server.limits.stream_*`). */
export interface StreamLimits {
  /** unsent bytes across all clients [64 MiB]; beyond it the slowest are dropped */
  totalBytes: number;
  /** unsent bytes of one client [4 MiB]; beyond it that client is dropped */
  clientBytes: number;
  /** concurrent streams [256] */
  clients: number;
  /** concurrent streams per token, or per remote address without one [16] */
  clientsPerKey: number;
  /** recent items kept for `Last-Event-ID` resume, in bytes [64 MiB] (the hub's, not the budget's) */
  historyBytes: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { totalBytes: 64 * 1024 * 1024, clientBytes: 4 * 1024 * 1024, clients: 256, clientsPerKey: 16, historyBytes: 64 * 1024 * 1024 };

export type DropReason = 'client_budget' | 'total_budget';
export type RefuseReason = 'clients' | 'per_address';

export interface StreamBudgetHooks {
  onDrop?(reason: DropReason, unsent: number): void;
  onRefuse?(reason: RefuseReason): void;
}

interface Member {
  sink: StreamSink;
  key: string;
  /** unsent bytes when the current write round began: how far behind it is */
  lag: number;
}

/**
 * Admission and memory bounds of the live stream's clients. Writes are checked
 * before they are made, so the unsent total stays within `totalBytes` (and each
 * client within `clientBytes`), except that one chunk larger than the client
 * budget still goes to a client that has nothing unsent: a big batch reaches a
 * client that keeps up.
 */
export class StreamBudget {
  private readonly members = new Map<StreamSink, Member>();
  private readonly perKey = new Map<string, number>();

  constructor(readonly limits: StreamLimits, private readonly hooks: StreamBudgetHooks = {}) {}

  get clients(): number { return this.members.size; }

  /** Unsent bytes across all clients. */
  buffered(): number {
    let n = 0;
    for (const m of this.members.values()) n += m.sink.unsent;
    return n;
  }

  /**
   * Take a new client under `key` (its token, else its address), or throw
   * TOO_MANY_STREAMS (429) when a count limit is reached.
   */
  admit(key: string, sink: StreamSink): void {
    const mine = this.perKey.get(key) ?? 0;
    if (this.members.size >= this.limits.clients) {
      this.hooks.onRefuse?.('clients');
      throw new BlickError('TOO_MANY_STREAMS', `the server already serves ${this.members.size} live streams, its limit (server.limits.stream_clients); retry later`);
    }
    if (mine >= this.limits.clientsPerKey) {
      this.hooks.onRefuse?.('per_address');
      throw new BlickError('TOO_MANY_STREAMS', `this token or address already has ${mine} live streams, the limit (server.limits.stream_clients_per_address); close one first`);
    }
    this.members.set(sink, { sink, key, lag: 0 });
    this.perKey.set(key, mine + 1);
  }

  /** Forget a client (it closed or was dropped); safe to call twice. */
  release(sink: StreamSink): void {
    const m = this.members.get(sink);
    if (!m) return;
    this.members.delete(sink);
    const n = (this.perKey.get(m.key) ?? 1) - 1;
    if (n <= 0) this.perKey.delete(m.key);
    else this.perKey.set(m.key, n);
  }

  /** Write to one client within the budgets; false when it was dropped instead. */
  send(sink: StreamSink, chunk: string): boolean {
    const m = this.members.get(sink);
    if (!m) return false;
    return this.write(m, chunk, this.snapshot()).ok;
  }

  /** Write each client its chunk (`''` skips it), dropping clients as the budgets require. */
  fanOut(chunkFor: (sink: StreamSink) => string): void {
    let total = this.snapshot();
    for (const m of this.members.values()) {
      const chunk = chunkFor(m.sink);
      if (chunk !== '') total = this.write(m, chunk, total).total;
    }
  }

  /** Note each client's lag and return the unsent total. */
  private snapshot(): number {
    let n = 0;
    for (const m of this.members.values()) { m.lag = m.sink.unsent; n += m.lag; }
    return n;
  }

  private write(m: Member, chunk: string, total: number): { ok: boolean; total: number } {
    const bytes = Buffer.byteLength(chunk);
    const before = m.sink.unsent;
    if (before > 0 && before + bytes > this.limits.clientBytes) {
      this.drop(m, 'client_budget');
      return { ok: false, total: total - before };
    }
    if (total + bytes > this.limits.totalBytes) {
      const shed = this.shed(total + bytes - this.limits.totalBytes, m);
      total -= shed.freed;
      if (shed.self) return { ok: false, total };
    }
    m.sink.write(chunk);
    return { ok: true, total: total + m.sink.unsent - before };
  }

  /**
   * Drop the slowest clients until `excess` is freed: the most unsent bytes
   * before this round (what it was given in this round is not its fault), then
   * the most unsent now. Once the writing client is dropped its chunk is not
   * written, so nothing more needs to go (`self`).
   */
  private shed(excess: number, writer: Member): { freed: number; self: boolean } {
    const bySlowest = [...this.members.values()].map((x) => ({ m: x, unsent: x.sink.unsent }))
      .sort((a, b) => b.m.lag - a.m.lag || b.unsent - a.unsent);
    let freed = 0, self = false;
    for (const { m, unsent } of bySlowest) {
      if (freed >= excess) break;
      this.drop(m, 'total_budget');
      freed += unsent;
      if (m === writer) { self = true; break; }
    }
    return { freed, self };
  }

  private drop(m: Member, reason: DropReason): void {
    const unsent = m.sink.unsent;
    this.release(m.sink);
    m.sink.destroy();
    this.hooks.onDrop?.(reason, unsent);
  }
}
