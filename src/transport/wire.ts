import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { BlickError } from '../core/errors.js';
import { DEFAULT_TIME_BOUNDS, makeEvent, PRODUCER_SOURCES, type BlickEvent, type EventOptions, type State } from '../core/event.js';

// int64 as plain numbers (unix ms fits in 2^53), not Long objects
protobuf.util.Long = undefined as any;
protobuf.configure();

// proto3 strings are UTF-8. One that is not (a JS producer's lone surrogate, stray
// bytes) decodes with U+FFFD as usual plus a trailing lone surrogate, so that
// makeEvent treats it as it treats a lone surrogate from the HTTP API: rejected
// in a name, repaired in text. A valid string pays only for the includes().
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
(protobuf.BufferReader.prototype as unknown as { string(): string }).string = function readString(this: { buf: Buffer; pos: number; len: number; uint32(): number }): string {
  const len = this.uint32();
  const start = this.pos;
  const end = start + len;
  if (end > this.len) throw new RangeError(`index out of range: ${start} + ${len} > ${this.len}`);
  this.pos = end;
  const s = this.buf.toString('utf8', start, end);
  if (!s.includes('\uFFFD')) return s;
  try { strictUtf8.decode(this.buf.subarray(start, end)); return s; } catch { return s + '\uDC00'; }
};

/** The wire protocol version this build speaks (Envelope.version). */
export const WIRE_VERSION = 1;

/** Limits on one message and one batch; larger ones are rejected and counted. */
export interface WireLimits {
  /** largest encoded message in bytes (default 4 MiB) */
  maxMessageBytes: number;
  /** most events in one batch (default 10,000) */
  maxBatchEvents: number;
}
export const DEFAULT_WIRE_LIMITS: WireLimits = { maxMessageBytes: 4 * 1024 * 1024, maxBatchEvents: 10_000 };

function findProto(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'proto', 'blick.proto');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error('proto/blick.proto not found next to the installation');
}

const root = protobuf.loadSync(findProto());
const EnvelopeType = root.lookupType('blick.v1.Envelope');

const STATE_TO_WIRE: Record<State, number> = { ok: 1, warning: 2, critical: 3, unknown: 4 };
const WIRE_TO_STATE: (State | undefined)[] = [undefined, 'ok', 'warning', 'critical', 'unknown'];

/** The edge rules the decoder applies to each event (see makeEvent); defaults: {@link DEFAULT_WIRE_EVENT_RULES}. */
export type WireEventRules = Pick<EventOptions, 'sources' | 'time' | 'onTimeClamped'>;
/** A producer may claim agent, relay, statsd or snmp (never server or api); times are bounded. */
export const DEFAULT_WIRE_EVENT_RULES: WireEventRules = { sources: PRODUCER_SOURCES, time: DEFAULT_TIME_BOUNDS };

/**
 * Where a batch's events come from, for exact dedupe (proto: Batch.producer_id,
 * seq, low_water): event i of the batch has number `seq + i`.
 */
export interface Origin {
  /** stable id of the producer that made the events */
  producerId: string;
  /** number of the first event */
  seq: number;
  /** the producer sends no number below this again */
  lowWater: number;
}

export interface Batch { id: string; events: BlickEvent[]; producer: string; origin?: Origin | undefined }

/** Why a receiver refused a whole batch (proto enum Refusal). */
export type Refusal = 'message_too_large' | 'too_many_events';
const REFUSAL_TO_WIRE: Record<Refusal, number> = { message_too_large: 1, too_many_events: 2 };
const WIRE_TO_REFUSAL: (Refusal | undefined)[] = [undefined, 'message_too_large', 'too_many_events'];

export interface Ack {
  batchId: string; accepted: number; duplicates: number; rejected: number; error?: string;
  /** set when the batch was refused as a whole; with it, the receiver's limits */
  refusal?: Refusal; maxMessageBytes?: number; maxBatchEvents?: number;
}

/**
 * A decoded message: a batch (with the events that failed validation counted)
 * or an ack. With an origin, `seqs[i]` is the number of `batch.events[i]`
 * (invalid events leave gaps). `altered`: the receiver filled in or changed
 * an event's id or time (time 0, a time out of bounds), so the bytes on the
 * wire no longer say what was decoded.
 */
export type Decoded =
  | { kind: 'batch'; batch: Batch; invalid: number; firstError?: string; seqs?: number[]; altered?: boolean }
  | { kind: 'ack'; ack: Ack };

function toWireEvent(e: BlickEvent): Record<string, unknown> {
  const w: Record<string, unknown> = {
    id: e.id, host: e.host, service: e.service,
    description: e.description, tags: e.tags, attributes: e.attributes,
    time: e.time, source: e.source,
  };
  if (e.state !== undefined) w.state = STATE_TO_WIRE[e.state];
  if (e.metric !== undefined) w.metric = e.metric;
  if (e.ttl !== undefined) w.ttl = e.ttl;
  return w;
}

/** Encode a batch as an Envelope. */
export function encodeBatch(batch: Batch): Uint8Array {
  const o = batch.origin;
  return EnvelopeType.encode({ version: WIRE_VERSION, batch: {
    id: batch.id, producer: batch.producer, events: batch.events.map(toWireEvent),
    ...(o ? { producerId: o.producerId, seq: o.seq, lowWater: o.lowWater } : {}),
  } }).finish();
}

/** Encode an ack as an Envelope. */
export function encodeAck(ack: Ack): Uint8Array {
  return EnvelopeType.encode({ version: WIRE_VERSION, ack: {
    batchId: ack.batchId, accepted: ack.accepted, duplicates: ack.duplicates, rejected: ack.rejected, error: ack.error ?? '',
    ...(ack.refusal ? { refusal: REFUSAL_TO_WIRE[ack.refusal], maxMessageBytes: ack.maxMessageBytes ?? 0, maxBatchEvents: ack.maxBatchEvents ?? 0 } : {}),
  } }).finish();
}

/**
 * The batch id of an encoded Envelope without decoding its events (they are
 * skipped by length), so that a message over the size limit can still be
 * refused by id. Undefined when the bytes are not a batch envelope of this
 * version with an id. Costs one tag read per event, no allocation per event.
 */
export function peekBatchId(buf: Uint8Array): string | undefined {
  try {
    const r = protobuf.Reader.create(buf);
    let version = 0;
    let id: string | undefined;
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 8) { version = r.uint32(); continue; } // field 1, varint
      if (tag !== 18) { r.skipType(tag & 7); continue; } // not field 2 (batch)
      const end = r.uint32() + r.pos;
      if (end > r.len) return undefined;
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 10) id = r.string(); // Batch.id
        else r.skipType(t & 7);
      }
    }
    return version === WIRE_VERSION && id ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decode and validate one message. Throws BlickError (MESSAGE_TOO_LARGE,
 * MESSAGE_INVALID, UNSUPPORTED_VERSION, BATCH_TOO_LARGE) when the message as a
 * whole is unusable; events that fail validation are dropped and counted in
 * `invalid`, the rest of the batch is kept. Events follow `rules` (the same
 * makeEvent rules as the HTTP API, with the sources a producer may claim).
 */
export function decodeMessage(buf: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS, now: () => number = Date.now, rules: WireEventRules = DEFAULT_WIRE_EVENT_RULES): Decoded {
  if (buf.length > limits.maxMessageBytes) {
    throw new BlickError('MESSAGE_TOO_LARGE', `message of ${buf.length} bytes exceeds the limit of ${limits.maxMessageBytes}`);
  }
  let env: any;
  try {
    // always through the BufferReader and its UTF-8 check above
    env = EnvelopeType.decode(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (err) {
    throw new BlickError('MESSAGE_INVALID', `not a Blick envelope: ${(err as Error).message}`, { cause: err });
  }
  if (env.version !== WIRE_VERSION) {
    throw new BlickError('UNSUPPORTED_VERSION', `envelope version ${env.version} is not supported (this build speaks ${WIRE_VERSION})`);
  }
  if (env.ack) {
    const a = env.ack;
    if (!a.batchId) throw new BlickError('MESSAGE_INVALID', 'ack without batch id');
    const refusal = WIRE_TO_REFUSAL[a.refusal ?? 0];
    return { kind: 'ack', ack: {
      batchId: a.batchId, accepted: a.accepted >>> 0, duplicates: a.duplicates >>> 0, rejected: a.rejected >>> 0,
      ...(a.error ? { error: a.error } : {}),
      ...(refusal ? { refusal, maxMessageBytes: a.maxMessageBytes >>> 0, maxBatchEvents: a.maxBatchEvents >>> 0 } : {}),
    } };
  }
  const b = env.batch;
  if (!b) throw new BlickError('MESSAGE_INVALID', 'envelope carries neither a batch nor an ack');
  if (!b.id) throw new BlickError('MESSAGE_INVALID', 'batch without id');
  const wireEvents: any[] = b.events;
  if (wireEvents.length > limits.maxBatchEvents) {
    throw new BlickError('BATCH_TOO_LARGE', `batch of ${wireEvents.length} events exceeds the limit of ${limits.maxBatchEvents}`);
  }
  const options: EventOptions = { ...rules, now };
  const events: BlickEvent[] = [];
  let invalid = 0;
  let firstError: string | undefined;
  const origin: Origin | undefined = b.producerId ? { producerId: b.producerId, seq: Number(b.seq ?? 0), lowWater: Number(b.lowWater ?? 0) } : undefined;
  if (origin && !(Number.isSafeInteger(origin.seq + wireEvents.length) && Number.isSafeInteger(origin.lowWater))) {
    throw new BlickError('MESSAGE_INVALID', 'batch sequence numbers beyond 2^53');
  }
  const seqs: number[] | undefined = origin ? [] : undefined;
  let altered = false;
  for (let i = 0; i < wireEvents.length; i++) {
    const w = wireEvents[i];
    try {
      const state = WIRE_TO_STATE[w.state];
      if (w.state !== 0 && state === undefined) throw new BlickError('EVENT_INVALID', `event field "state" has unknown value ${w.state}`);
      events.push(makeEvent({
        id: w.id, host: w.host, service: w.service, state,
        metric: w.metric, description: w.description, tags: w.tags, attributes: w.attributes,
        time: w.time, ttl: w.ttl, source: w.source || 'agent',
      }, options));
      const ev = events[events.length - 1]!;
      if (ev.time !== w.time || ev.id !== w.id) altered = true;
      seqs?.push(origin!.seq + i);
    } catch (err) {
      invalid++;
      firstError ??= (err as Error).message;
    }
  }
  return {
    kind: 'batch', batch: { id: b.id, events, producer: b.producer ?? '', ...(origin ? { origin } : {}) }, invalid,
    ...(firstError ? { firstError } : {}), ...(seqs ? { seqs } : {}), ...(altered ? { altered } : {}),
  };
}
