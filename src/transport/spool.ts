import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';

/** One unacknowledged batch kept on disk until the receiver's ack. */
export interface SpooledBatch {
  readonly seq: number;
  readonly id: string;
  readonly events: number;
  readonly bytes: number;
  readonly file: string;
  /** the encoded message, kept in memory while the spool's memory budget allows */
  data?: Uint8Array;
}

export interface SpoolOptions {
  /** directory of the spool (created if missing) */
  dir: string;
  /** most bytes on disk; when full, the oldest batches are dropped (default 256 MiB) */
  maxBytes?: number;
  /** fsync each batch before it is sent (survives power loss; default false: survives process crashes) */
  fsync?: boolean;
  /** encoded messages kept in memory to avoid re-reading files (default 64 MiB) */
  memoryBytes?: number;
  log?: Logger;
  /** called when batches are dropped because the spool is full */
  onDrop?: (batches: number, events: number) => void;
}

const NAME = /^(\d{16})\.(\d+)\.([A-Za-z0-9_-]{1,64})\.pb$/;

/**
 * A bounded on-disk queue of encoded batches, oldest first. A batch is a file
 * `<seq>.<events>.<batch id>.pb`, written to a temporary name and renamed, so a
 * crash leaves either the whole batch or nothing. Survives restarts: `open()`
 * reloads what is left, and the producer resends it.
 */
export class Spool {
  private readonly entries = new Map<string, SpooledBatch>(); // insertion order = seq order
  private nextSeq = 1;
  private totalBytes = 0;
  private memBytes = 0;
  private readonly maxBytes: number;
  private readonly memoryBytes: number;
  /** batches and events dropped because the spool was full, since start */
  droppedBatches = 0;
  droppedEvents = 0;

  constructor(private readonly opts: SpoolOptions) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.memoryBytes = opts.memoryBytes ?? 64 * 1024 * 1024;
  }

  /** Load the batches a previous run left behind. */
  open(): void {
    mkdirSync(this.opts.dir, { recursive: true });
    const found: SpooledBatch[] = [];
    for (const name of readdirSync(this.opts.dir)) {
      const m = NAME.exec(name);
      const file = join(this.opts.dir, name);
      if (!m) {
        if (name.endsWith('.tmp')) { try { unlinkSync(file); } catch { /* gone */ } }
        continue;
      }
      found.push({ seq: Number(m[1]), events: Number(m[2]), id: m[3]!, bytes: statSync(file).size, file });
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const e of found) { this.entries.set(e.id, e); this.totalBytes += e.bytes; this.nextSeq = e.seq + 1; }
    if (found.length > 0) this.opts.log?.info({ batches: found.length, bytes: this.totalBytes }, 'spool holds unacknowledged batches from an earlier run; resending');
  }

  /** Append a batch; drops the oldest batches first if it would not fit. */
  append(id: string, events: number, data: Uint8Array): SpooledBatch {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`spool: batch id ${JSON.stringify(id)} is not file-safe`);
    this.makeRoom(data.length);
    const seq = this.nextSeq++;
    const file = join(this.opts.dir, `${String(seq).padStart(16, '0')}.${events}.${id}.pb`);
    const tmp = file + '.tmp';
    try {
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, data);
        if (this.opts.fsync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch (err) {
      // a full disk leaves a partial file: remove it, or it holds the space the next try needs
      try { unlinkSync(tmp); } catch { /* never created */ }
      throw err;
    }
    const entry: SpooledBatch = { seq, id, events, bytes: data.length, file };
    if (this.memBytes + data.length <= this.memoryBytes) { entry.data = data; this.memBytes += data.length; }
    this.entries.set(id, entry);
    this.totalBytes += data.length;
    return entry;
  }

  private makeRoom(incoming: number): void {
    let batches = 0, events = 0;
    while (this.entries.size > 0 && this.totalBytes + incoming > this.maxBytes) {
      const oldest = this.entries.values().next().value as SpooledBatch;
      this.remove(oldest);
      batches++; events += oldest.events;
    }
    if (batches > 0) {
      this.droppedBatches += batches; this.droppedEvents += events;
      this.opts.log?.error({ batches, events, maxBytes: this.maxBytes }, 'spool full: dropped the oldest unacknowledged batches');
      this.opts.onDrop?.(batches, events);
    }
  }

  /** The encoded message of a batch (from memory or disk). */
  read(entry: SpooledBatch): Uint8Array {
    return entry.data ?? readFileSync(entry.file);
  }

  /** Forget a batch the receiver acknowledged. Returns it, or undefined if unknown. */
  ack(id: string): SpooledBatch | undefined {
    const e = this.entries.get(id);
    if (e) this.remove(e);
    return e;
  }

  private remove(e: SpooledBatch): void {
    this.entries.delete(e.id);
    this.totalBytes -= e.bytes;
    if (e.data) this.memBytes -= e.bytes;
    try { unlinkSync(e.file); } catch { /* already gone */ }
  }

  has(id: string): boolean { return this.entries.has(id); }
  /** unacknowledged batches, oldest first */
  values(): IterableIterator<SpooledBatch> { return this.entries.values(); }
  get batches(): number { return this.entries.size; }
  get bytes(): number { return this.totalBytes; }
  get events(): number { let n = 0; for (const e of this.entries.values()) n += e.events; return n; }
}
