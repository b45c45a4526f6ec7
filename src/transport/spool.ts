import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import { peekBatchId } from './wire.js';

/** One unacknowledged batch kept on disk until the receiver's ack. */
export interface SpooledBatch {
  /** the spool's own order number: batches are sent oldest first */
  readonly order: number;
  /** number of the batch's first event (Batch.seq; for a forwarded batch its origin's number, 0 when it has none) */
  readonly seq: number;
  /** a batch another producer made and this one forwards (a relay): its numbers are not ours */
  readonly forwarded: boolean;
  /** of a forwarded numbered batch: its producer (see {@link originKey}) */
  readonly origin?: string | undefined;
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

/**
 * A batch file: `<order>.<events>.<o|f><seq>[-<origin>].<name>.pb`, `o` for our
 * own events numbered from seq, `f` for a forwarded batch (seq and origin its
 * producer's). `name` is the batch id when it
 * is file-safe, else `~` and the SHA-256 of the id (read back from the file).
 */
const NAME = /^(\d{16})\.(\d+)\.([of])(\d+)(?:-([A-Za-z0-9_-]{1,64}))?\.([A-Za-z0-9_-]{1,64}|~[0-9a-f]{64})\.pb$/;
/** a file written before the spool had an order of its own: `<seq>.<events>.<id>.pb`, always our own (read after an upgrade) */
const OLD_NAME = /^(\d{16})\.(\d+)\.([A-Za-z0-9_-]{1,64})\.pb$/;
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The file-safe key of a producer id (the id itself when it is file-safe, else a hash of it). */
export function originKey(producerId: string): string {
  return SAFE_ID.test(producerId) ? producerId : createHash('sha256').update(producerId).digest('base64url').slice(0, 43);
}
/** the file holding the producer's id and how far its event numbers are reserved */
const IDENTITY = 'producer.json';
/** event numbers reserved per write of the identity file */
const SEQ_BLOCK = 1 << 20;

/**
 * A batch to write into the spool: its id, first event number, event count and
 * encoded message; `forwarded` for a batch of another producer (a relay's),
 * whose `seq` is its origin's and not one of ours.
 */
export interface SpoolPart { id: string; seq: number; events: number; data: Uint8Array; forwarded?: boolean; origin?: string | undefined }

/**
 * A bounded on-disk queue of encoded batches, oldest first. A batch is a file
 * named by its order number (the spool's own, not an event number: a relay's
 * spool holds batches of many producers whose numbers overlap), written to a
 * temporary name and renamed, so a crash leaves either the whole batch or
 * nothing. Survives restarts: `open()` reloads what is left (files of the
 * older `<seq>.<events>.<id>.pb` form too), and the producer resends it.
 *
 * The spool also keeps the producer's identity (`producer.json`): a random id
 * made once, and a reservation of event numbers. Numbers are handed out from
 * the reservation and the file is rewritten once per SEQ_BLOCK numbers, before
 * any of them is used, so a restart never hands out a number twice (it skips
 * the rest of the old block; `lowWater` tells the receiver about the gap).
 */
export class Spool {
  private readonly entries = new Map<string, SpooledBatch>(); // insertion order = send order
  /** our own batches (not forwarded), in the same order: the low water is the first of them */
  private readonly own = new Map<string, SpooledBatch>();
  /** forwarded numbered batches by their producer (originKey) */
  private readonly byOrigin = new Map<string, Set<SpooledBatch>>();
  private nextSeq = 1;
  private nextOrder = 1;
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
      const file = join(this.opts.dir, name);
      const m = NAME.exec(name);
      const old = m ? undefined : OLD_NAME.exec(name);
      if (!m && !old) {
        if (name.endsWith('.tmp')) { try { unlinkSync(file); } catch { /* gone */ } }
        continue;
      }
      const bytes = statSync(file).size;
      if (old) { found.push({ order: Number(old[1]), seq: Number(old[1]), forwarded: false, events: Number(old[2]), id: old[3]!, bytes, file }); continue; }
      let id = m![6]!;
      if (id.startsWith('~')) {
        // the id is not file-safe: it is inside the batch
        const inside = peekBatchId(readFileSync(file));
        if (!inside) { this.opts.log?.warn({ file }, 'spool file without a readable batch id; skipped'); continue; }
        id = inside;
      }
      found.push({ order: Number(m![1]), seq: Number(m![4]), forwarded: m![3] === 'f', origin: m![5], events: Number(m![2]), id, bytes, file });
    }
    found.sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const e of found) {
      this.entries.set(e.id, e);
      this.track(e);
      if (!e.forwarded) { this.own.set(e.id, e); this.nextSeq = Math.max(this.nextSeq, e.seq + e.events); }
      this.totalBytes += e.bytes;
      this.nextOrder = Math.max(this.nextOrder, e.order + 1);
    }
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
    for (const e of this.own.values()) return Math.min(e.seq, this.nextSeq);
    return this.nextSeq;
  }

  private write(part: SpoolPart, order = this.nextOrder++): SpooledBatch {
    const { id, seq, events, data } = part;
    const forwarded = part.forwarded === true;
    // a forwarded batch's id is whatever its producer chose: never part of a path as it is
    const name = SAFE_ID.test(id) ? id : `~${createHash('sha256').update(id).digest('hex')}`;
    const origin = forwarded && part.origin !== undefined ? originKey(part.origin) : undefined;
    const file = join(this.opts.dir, `${String(order).padStart(16, '0')}.${events}.${forwarded ? 'f' : 'o'}${seq}${origin !== undefined ? `-${origin}` : ''}.${name}.pb`);
    this.writeFile(file, data);
    const entry: SpooledBatch = { order, seq, forwarded, origin, id, events, bytes: data.length, file };
    if (this.memBytes + data.length <= this.memoryBytes) { entry.data = data; this.memBytes += data.length; }
    this.totalBytes += data.length;
    return entry;
  }

  /** Append a batch; drops the oldest batches first if it would not fit. */
  append(part: SpoolPart): SpooledBatch {
    this.makeRoom(part.data.length);
    const entry = this.write(part);
    this.entries.set(entry.id, entry);
    if (!entry.forwarded) this.own.set(entry.id, entry);
    this.track(entry);
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
      // the parts take the old batch's order number (ties are read back in id order: `<id>-0` before `<id>-1`)
      for (const p of parts) written.push(this.write(p, old.order));
    } catch (err) {
      for (const w of written) this.remove(w);
      throw err;
    }
    for (const map of [this.entries, this.own]) {
      if (map === this.own && old.forwarded) continue;
      const all = [...map.values()];
      map.clear();
      for (const e of all) {
        if (e !== old) map.set(e.id, e);
        else for (const w of written) map.set(w.id, w);
      }
    }
    for (const w of written) this.track(w);
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
    // a part written in the place of a batch shares its name (same order) only if it is the same file
    if (this.entries.get(e.id) === e) this.entries.delete(e.id);
    if (this.own.get(e.id) === e) this.own.delete(e.id);
    if (e.origin !== undefined) {
      const set = this.byOrigin.get(e.origin);
      set?.delete(e);
      if (set?.size === 0) this.byOrigin.delete(e.origin);
    }
    this.totalBytes -= e.bytes;
    if (e.data) this.memBytes -= e.bytes;
    try { unlinkSync(e.file); } catch { /* already gone */ }
  }

  /** Can a batch be written now? (a probe file written and removed; for readiness checks) */
  writable(): boolean {
    try { this.writeFile(join(this.opts.dir, '.probe'), new Uint8Array(0)); unlinkSync(join(this.opts.dir, '.probe')); return true; } catch { return false; }
  }

  private track(e: SpooledBatch): void {
    if (e.origin === undefined) return;
    let set = this.byOrigin.get(e.origin);
    if (!set) this.byOrigin.set(e.origin, (set = new Set()));
    set.add(e);
  }

  /**
   * The lowest event number of the forwarded batches of producer `producerId`
   * still in the spool (undefined: none). A batch of that producer forwarded
   * now must not promise a low water above it: the older batch may reach the
   * receiver after the newer one (a restart, a resend, another path).
   */
  lowestOf(producerId: string): number | undefined {
    let low: number | undefined;
    for (const e of this.byOrigin.get(originKey(producerId)) ?? []) if (low === undefined || e.seq < low) low = e.seq;
    return low;
  }

  has(id: string): boolean { return this.entries.has(id); }
  get(id: string): SpooledBatch | undefined { return this.entries.get(id); }
  /** unacknowledged batches, oldest first */
  values(): IterableIterator<SpooledBatch> { return this.entries.values(); }
  get batches(): number { return this.entries.size; }
  get bytes(): number { return this.totalBytes; }
  get events(): number { let n = 0; for (const e of this.entries.values()) n += e.events; return n; }
}
