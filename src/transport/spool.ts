import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';

/** One unacknowledged batch kept on disk until the receiver's ack. */
export interface SpooledBatch {
  /** number of the batch's first event (Batch.seq); orders the spool */
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
/** the file holding the producer's id and how far its event numbers are reserved */
const IDENTITY = 'producer.json';
/** event numbers reserved per write of the identity file */
const SEQ_BLOCK = 1 << 20;

/** A batch to write into the spool: its id, first event number, event count and encoded message. */
export interface SpoolPart { id: string; seq: number; events: number; data: Uint8Array }

/**
 * A bounded on-disk queue of encoded batches, oldest first. A batch is a file
 * `<seq>.<events>.<batch id>.pb`, written to a temporary name and renamed, so a
 * crash leaves either the whole batch or nothing. Survives restarts: `open()`
 * reloads what is left, and the producer resends it.
 *
 * The spool also keeps the producer's identity (`producer.json`): a random id
 * made once, and a reservation of event numbers. Numbers are handed out from
 * the reservation and the file is rewritten once per SEQ_BLOCK numbers, before
 * any of them is used, so a restart never hands out a number twice (it skips
 * the rest of the old block; `lowWater` tells the receiver about the gap).
 */
export class Spool {
  private readonly entries = new Map<string, SpooledBatch>(); // insertion order = seq order
  private nextSeq = 1;
  private reserved = 0;
  /** the producer's stable id (after open) */
  producerId = '';
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
    for (const e of found) { this.entries.set(e.id, e); this.totalBytes += e.bytes; this.nextSeq = Math.max(this.nextSeq, e.seq + e.events); }
    this.loadIdentity();
    if (found.length > 0) this.opts.log?.info({ batches: found.length, bytes: this.totalBytes }, 'spool holds unacknowledged batches from an earlier run; resending');
  }

  private loadIdentity(): void {
    const file = join(this.opts.dir, IDENTITY);
    let saved: { id?: unknown; reserved?: unknown } = {};
    try { saved = JSON.parse(readFileSync(file, 'utf8')); } catch { /* first start, or unreadable: a new identity */ }
    if (typeof saved.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(saved.id) && Number.isSafeInteger(saved.reserved)) {
      this.producerId = saved.id;
      this.nextSeq = Math.max(this.nextSeq, saved.reserved as number);
    } else {
      this.producerId = randomBytes(16).toString('base64url');
    }
    this.reserved = 0;
    // an unwritable spool must not stop the daemon: the next reserve() tries again and
    // its failure keeps the events in memory (see Producer.flush)
    try { this.reserve(0); } catch (err) { this.opts.log?.error({ err: (err as Error).message }, 'cannot write the producer identity to the spool'); }
  }

  private writeFile(file: string, data: Uint8Array): void {
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
  }

  /** Hand out the numbers of `events` new events; returns the first. */
  reserve(events: number): number {
    const first = this.nextSeq;
    if (first + events > this.reserved) {
      const reserved = first + events + SEQ_BLOCK;
      this.writeFile(join(this.opts.dir, IDENTITY), Buffer.from(JSON.stringify({ id: this.producerId, reserved }) + '\n'));
      this.reserved = reserved;
    }
    this.nextSeq = first + events;
    return first;
  }

  /** The lowest event number still unacknowledged (or the next to be handed out): the producer never sends below it again. */
  get lowWater(): number {
    for (const e of this.entries.values()) return Math.min(e.seq, this.nextSeq);
    return this.nextSeq;
  }

  private write(part: SpoolPart): SpooledBatch {
    const { id, seq, events, data } = part;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`spool: batch id ${JSON.stringify(id)} is not file-safe`);
    const file = join(this.opts.dir, `${String(seq).padStart(16, '0')}.${events}.${id}.pb`);
    this.writeFile(file, data);
    const entry: SpooledBatch = { seq, id, events, bytes: data.length, file };
    if (this.memBytes + data.length <= this.memoryBytes) { entry.data = data; this.memBytes += data.length; }
    this.totalBytes += data.length;
    return entry;
  }

  /** Append a batch; drops the oldest batches first if it would not fit. */
  append(part: SpoolPart): SpooledBatch {
    this.makeRoom(part.data.length);
    const entry = this.write(part);
    this.entries.set(entry.id, entry);
    return entry;
  }

  /**
   * Put `parts` in the place of batch `id` (a batch split after a refusal), in
   * order. The parts are written before the batch is removed, so a crash in
   * between leaves both, and the receiver drops the repeat by event number.
   */
  replace(id: string, parts: SpoolPart[]): void {
    const old = this.entries.get(id);
    if (!old) return;
    const written: SpooledBatch[] = [];
    try {
      for (const p of parts) written.push(this.write(p));
    } catch (err) {
      for (const w of written) this.remove(w);
      throw err;
    }
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) {
      if (e !== old) this.entries.set(e.id, e);
      else for (const w of written) this.entries.set(w.id, w);
    }
    this.remove(old);
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
  get(id: string): SpooledBatch | undefined { return this.entries.get(id); }
  /** unacknowledged batches, oldest first */
  values(): IterableIterator<SpooledBatch> { return this.entries.values(); }
  get batches(): number { return this.entries.size; }
  get bytes(): number { return this.totalBytes; }
  get events(): number { let n = 0; for (const e of this.entries.values()) n += e.events; return n; }
}
