import * as zmq from 'zeromq';
import { FailureSignal, type Component, type FailureListener } from '../core/component.js';
import { BlickError, isBlickError } from '../core/errors.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import { Registry } from '../core/metrics.js';
import { zap, type CurveServerOptions } from './curve.js';
import { decodeMessage, DEFAULT_WIRE_EVENT_RULES, DEFAULT_WIRE_LIMITS, encodeAck, peekBatchId, type Batch, type WireEventRules, type WireLimits } from './wire.js';

/** What the receiver's owner reports back for a batch once it is durably stored. */
export interface BatchResult {
  accepted: number;
  duplicates: number;
  /** valid events the owner will not store (e.g. beyond a capacity); acknowledged as rejected so they are not resent */
  refused?: number;
}

/**
 * The numbers of a batch's events, for exact dedupe: `seqs[i]` is the number of
 * `batch.events[i]`; `count` events were on the wire (invalid ones included),
 * numbered from `batch.origin.seq`.
 */
export interface BatchNumbers { seqs: number[]; count: number }

/**
 * The receiver's owner: store the batch, resolve when committed (the ack goes
 * out then). `raw` is the message as it came, given when it says exactly what
 * was decoded (no invalid event dropped, no id or time filled in or changed):
 * a relay forwards those bytes instead of encoding the batch again.
 */
export type BatchHandler = (batch: Batch, numbers?: BatchNumbers, raw?: Uint8Array) => Promise<BatchResult> | BatchResult;

export interface ReceiverOptions {
  /** ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:5556 */
  bind: string;
  handler: BatchHandler;
  limits?: Partial<WireLimits>;
  /** sources producers may claim, time bounds [DEFAULT_WIRE_EVENT_RULES] */
  events?: WireEventRules;
  curve?: CurveServerOptions | undefined;
  log?: Logger;
  metrics?: Registry;
  now?: () => number;
  /** metric name prefix ["blick_ingest"] */
  metricPrefix?: string;
}

let domainSeq = 0;

/**
 * The receiving half of the transport: a ROUTER socket that decodes each
 * message, hands the batch to its owner, and acknowledges it after the owner's
 * commit. Bad messages (garbage, truncated, too large, wrong version, invalid
 * events) are rejected, counted and logged (rate limited); the socket keeps
 * serving. A batch over the limits is answered with a refusal (the producer
 * splits it or drops it), so it is not resent forever. A batch the owner could
 * not commit is not answered at all: the producer resends it.
 */
export class Receiver implements Component {
  readonly name = 'receiver';
  private socket?: zmq.Router;
  private loop?: Promise<void>;
  private running = false;
  private readonly log: Logger;
  private readonly warn: RateLimitedLog;
  private readonly limits: WireLimits;
  private readonly zapDomain = `blick-${process.pid}-${++domainSeq}`;
  /** the bound endpoint (with the real port when bound to port 0) */
  endpoint = '';
  readonly counters;
  private readonly failures = new FailureSignal();

  constructor(private readonly opts: ReceiverOptions) {
    this.log = opts.log ?? createLogger('receiver');
    this.warn = new RateLimitedLog(this.log);
    this.limits = { ...DEFAULT_WIRE_LIMITS, ...opts.limits };
    const m = opts.metrics ?? new Registry();
    const p = opts.metricPrefix ?? 'blick_ingest';
    this.counters = {
      messages: m.counter(`${p}_messages_total`, 'Messages received on the ingest socket'),
      received: m.counter(`${p}_events_received_total`, 'Events received in valid batches'),
      rejectedMessages: m.counter(`${p}_messages_rejected_total`, 'Messages rejected (reason: garbage, too_large, version, batch_too_large, frames)'),
      refusals: m.counter(`${p}_batches_refused_total`, 'Batches over the limits answered with a refusal (the producer splits or drops them; reason: message_too_large, too_many_events)'),
      rejectedEvents: m.counter(`${p}_events_rejected_total`, 'Events rejected as invalid inside otherwise valid batches'),
      duplicates: m.counter(`${p}_events_duplicate_total`, 'Events dropped because their id was already stored'),
      refused: m.counter(`${p}_connections_refused_total`, 'Producers refused by the CURVE allow list'),
      failed: m.counter(`${p}_batches_failed_total`, 'Batches the store could not commit (not acknowledged; the producer resends)'),
    };
  }

  /** Heard when the receive loop dies while running: the server would otherwise be deaf. */
  onFailure(listener: FailureListener): void { this.failures.listen(listener); }

  async start(): Promise<void> {
    this.failures.reset();
    const sock = new zmq.Router({
      linger: 0,
      // a hard ceiling well above the application limit, so oversized messages still
      // reach us to be counted; beyond it libzmq drops the connection
      maxMessageSize: this.limits.maxMessageBytes * 2 + 65536,
      receiveHighWaterMark: 10000,
      sendHighWaterMark: 10000,
    });
    if (this.opts.curve) {
      zap.register(this.zapDomain, this.opts.curve.allow, (key, address) => {
        this.counters.refused.inc();
        this.warn.warn('refused', { key, address }, 'refused a producer whose CURVE key is not on the allow list');
      });
      sock.curveServer = true;
      sock.curveSecretKey = this.opts.curve.secretKey;
      sock.curvePublicKey = this.opts.curve.publicKey;
      sock.zapDomain = this.zapDomain;
    }
    await sock.bind(this.opts.bind);
    this.endpoint = sock.lastEndpoint ?? this.opts.bind;
    this.socket = sock;
    this.running = true;
    this.loop = this.receiveLoop();
  }

  private reject(reason: string, detail: Record<string, unknown>, msg: string): void {
    this.counters.rejectedMessages.inc(1, { reason });
    this.warn.warn(`reject:${reason}`, detail, msg);
  }

  /**
   * Answer a batch over the limits with a refusal the producer acts on (split
   * or drop), instead of silence that it would answer with resends forever. The
   * batch id is read without decoding the events; without one, nothing can be
   * answered. The refusal carries our limits so the producer can fit under them.
   */
  private async refuse(identity: Buffer, payload: Buffer, refusal: 'message_too_large' | 'too_many_events', error: string): Promise<void> {
    const batchId = peekBatchId(payload);
    if (!batchId || !this.running) return;
    this.counters.refusals.inc(1, { reason: refusal });
    try {
      await this.socket!.send([identity, encodeAck({
        batchId, accepted: 0, duplicates: 0, rejected: 0, error, refusal,
        maxMessageBytes: this.limits.maxMessageBytes, maxBatchEvents: this.limits.maxBatchEvents,
      })]);
    } catch (err) {
      this.warn.warn('ack-failed', { err }, 'could not send a refusal; the producer will resend and be refused again');
    }
  }

  private async receiveLoop(): Promise<void> {
    const sock = this.socket!;
    const now = this.opts.now ?? Date.now;
    try {
      for await (const frames of sock) {
        this.counters.messages.inc();
        const identity = frames[0]!;
        if (frames.length !== 2) { this.reject('frames', { frames: frames.length }, 'message with an unexpected number of frames rejected'); continue; }
        const payload = frames[1]!;
        let decoded;
        try {
          decoded = decodeMessage(payload, this.limits, now, this.opts.events ?? DEFAULT_WIRE_EVENT_RULES);
        } catch (err) {
          const reason = isBlickError(err, 'MESSAGE_TOO_LARGE') ? 'too_large' : isBlickError(err, 'UNSUPPORTED_VERSION') ? 'version' : isBlickError(err, 'BATCH_TOO_LARGE') ? 'batch_too_large' : 'garbage';
          this.reject(reason, { bytes: payload.length, error: (err as Error).message }, 'message rejected');
          if (reason === 'too_large' || reason === 'batch_too_large') await this.refuse(identity, payload, reason === 'too_large' ? 'message_too_large' : 'too_many_events', (err as Error).message);
          continue;
        }
        if (decoded.kind !== 'batch') { this.reject('garbage', {}, 'unexpected ack on the ingest socket'); continue; }
        const { batch, invalid } = decoded;
        if (invalid > 0) {
          this.counters.rejectedEvents.inc(invalid);
          this.warn.warn('invalid-events', { producer: batch.producer, invalid, error: decoded.firstError }, 'invalid events rejected from a batch');
        }
        this.counters.received.inc(batch.events.length);
        let result: BatchResult;
        try {
          result = await this.opts.handler(batch, decoded.seqs ? { seqs: decoded.seqs, count: decoded.seqs.length + invalid } : undefined, invalid === 0 && !decoded.altered ? payload : undefined);
        } catch (err) {
          // not acknowledged: the producer keeps the batch and resends it
          this.counters.failed.inc();
          this.warn.warn('store-failed', { err }, 'could not store a batch; it will be resent');
          continue;
        }
        this.counters.duplicates.inc(result.duplicates);
        if (!this.running) break;
        try {
          await sock.send([identity, encodeAck({ batchId: batch.id, accepted: result.accepted, duplicates: result.duplicates, rejected: invalid + (result.refused ?? 0) })]);
        } catch (err) {
          this.warn.warn('ack-failed', { err }, 'could not send an ack; the producer will resend and the duplicate is dropped');
        }
      }
    } catch (err) {
      if (this.running) {
        this.log.error({ err, endpoint: this.endpoint }, 'ingest socket failed');
        this.failures.fail(new BlickError('COMPONENT_FAILED', `the ingest socket ${this.endpoint} failed: ${(err as Error).message}`, { cause: err }));
      }
      return;
    }
    if (this.running) {
      this.log.error({ endpoint: this.endpoint }, 'ingest socket closed while running');
      this.failures.fail(new BlickError('COMPONENT_FAILED', `the ingest socket ${this.endpoint} closed while running`));
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.socket?.close();
    if (this.opts.curve) zap.unregister(this.zapDomain);
    await this.loop;
  }
}
