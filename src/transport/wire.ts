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
  const end = this.pos = Math.min(start + len, this.len);
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

export interface Batch { id: string; events: BlickEvent[]; producer: string }
export interface Ack { batchId: string; accepted: number; duplicates: number; rejected: number; error?: string }

/** A decoded message: a batch (with the events that failed validation counted) or an ack. */
export type Decoded =
  | { kind: 'batch'; batch: Batch; invalid: number; firstError?: string }
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
  return EnvelopeType.encode({ version: WIRE_VERSION, batch: { id: batch.id, producer: batch.producer, events: batch.events.map(toWireEvent) } }).finish();
}

/** Encode an ack as an Envelope. */
export function encodeAck(ack: Ack): Uint8Array {
  return EnvelopeType.encode({ version: WIRE_VERSION, ack: { batchId: ack.batchId, accepted: ack.accepted, duplicates: ack.duplicates, rejected: ack.rejected, error: ack.error ?? '' } }).finish();
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
    return { kind: 'ack', ack: { batchId: a.batchId, accepted: a.accepted >>> 0, duplicates: a.duplicates >>> 0, rejected: a.rejected >>> 0, ...(a.error ? { error: a.error } : {}) } };
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
  for (const w of wireEvents) {
    try {
      const state = WIRE_TO_STATE[w.state];
      if (w.state !== 0 && state === undefined) throw new BlickError('EVENT_INVALID', `event field "state" has unknown value ${w.state}`);
      events.push(makeEvent({
        id: w.id, host: w.host, service: w.service, state,
        metric: w.metric, description: w.description, tags: w.tags, attributes: w.attributes,
        time: w.time, ttl: w.ttl, source: w.source || 'agent',
      }, options));
    } catch (err) {
      invalid++;
      firstError ??= (err as Error).message;
    }
  }
  return { kind: 'batch', batch: { id: b.id, events, producer: b.producer ?? '' }, invalid, ...(firstError ? { firstError } : {}) };
}
