import * as zmq from 'zeromq';
import { FailureSignal, type Component, type FailureListener } from '../core/component.js';
import { BlickError } from '../core/errors.js';
import { SOURCES, type BlickEvent } from '../core/event.js';
import { UlidFactory } from '../core/ids.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import type { Registry } from '../core/metrics.js';
import type { CurveClientOptions } from './curve.js';
import { DEFAULT_DNS, dnsResolver, srvName, SrvUpstream, type DiscoveryOptions } from './discovery.js';
import type { BatchNumbers } from './receiver.js';
import { Spool, type SpoolPart, type SpooledBatch } from './spool.js';
import { decodeMessage, DEFAULT_WIRE_LIMITS, encodeBatch, type Ack, type Batch } from './wire.js';

/** Options of a {@link Producer}; defaults in brackets. */
export interface ProducerOptions {
  /** ZeroMQ endpoints to connect to; batches go to whichever is up (load-balanced across live ones) */
  upstreams: string[];
  /** directory of the on-disk spool */
  spoolDir: string;
  /** name of this producer in batches and logs [hostname] */
  producer: string;
  /** most events per batch [1000] */
  batchEvents?: number;
  /** largest encoded batch in bytes [1 MiB]; a bigger batch is cut in halves before it is spooled (a single event is sent as it is) */
  batchMaxBytes?: number;
  /** how long an event may wait for its batch to fill, ms [5] */
  batchDelayMs?: number;
  /** unacknowledged batches in flight at once [64] */
  window?: number;
  /** resend a batch not acknowledged within this, ms; doubles per attempt up to 30 s [3000] */
  ackTimeoutMs?: number;
  /** spool bound in bytes [256 MiB] */
  spoolMaxBytes?: number;
  /** fsync every batch [false] */
  fsync?: boolean;
  /** on stop, wait up to this long for the upstream to acknowledge what is in flight, ms; the rest stays spooled [0] */
  stopDrainMs?: number;
  curve?: CurveClientOptions | undefined;
  /** how `srv+tcp://` upstreams are found (src/transport/discovery.ts) [the machine's resolver, refresh 60 s, failover 10 s] */
  discovery?: DiscoveryOptions | undefined;
  log?: Logger;
  metrics?: Registry;
}

/** events held in memory while the spool cannot be written */
const MAX_PENDING_EVENTS = 100_000;
/** a spooled batch is our own: read it back without the receiver's limits */
const OWN_LIMITS = { maxMessageBytes: Number.MAX_SAFE_INTEGER, maxBatchEvents: Number.MAX_SAFE_INTEGER };
const OWN_RULES = { sources: SOURCES };

/** The id of part `i` of a split batch: derived, so that splitting the same batch again gives the same ids. */
function partId(id: string, i: number, fresh: () => string): string {
  return id.length <= 62 ? `${id}-${i}` : fresh();
}

interface InFlight { entry: SpooledBatch; deadline: number; attempts: number }

/**
 * Who a batch being cut belongs to: our own events (numbered by our spool,
 * low water ours), or a forwarded batch that keeps its producer's name, id and
 * low water (proto: a relay forwards them unchanged). No producerId: the
 * batch is not numbered.
 */
interface Head { producer: string; forwarded: boolean; producerId?: string | undefined; lowWater?: number | undefined }

/** What {@link Producer.forward} did with a batch. */
export interface ForwardResult {
  /** events written to the spool now */
  spooled: number;
  /** events of parts the spool already held (a resend after a lost ack): not written twice */
  duplicates: number;
}

/**
 * The sending half of the transport: batches events, appends each batch to the
 * spool, sends it over a DEALER socket and forgets it only when the receiver
 * acknowledges it (after its commit). Unacknowledged batches are resent after
 * a timeout, after a reconnect and after a restart (from the spool). Events
 * are numbered per producer (Batch.producer_id, seq) so that the receiver drops
 * every repeat exactly; a batch the receiver refuses as too large is split in
 * its place in the spool, keeping the numbers, or dropped if it is one event.
 */
export class Producer implements Component {
  readonly name = 'producer';
  private readonly opts: Required<Omit<ProducerOptions, 'curve' | 'log' | 'metrics' | 'discovery'>> & Pick<ProducerOptions, 'curve' | 'metrics' | 'discovery'>;
  private readonly log: Logger;
  private readonly spool: Spool;
  private readonly ids = new UlidFactory();
  private socket?: zmq.Dealer;
  private pending: BlickEvent[] = [];
  private batchTimer?: NodeJS.Timeout;
  private readonly inflight = new Map<string, InFlight>();
  private wake?: () => void;
  private tick?: NodeJS.Timeout;
  private running = false;
  private loops: Promise<void>[] = [];
  private drainWaiters: (() => void)[] = [];
  /** endpoints with a live connection (socket events), for SRV failover */
  private readonly connected = new Set<string>();
  /** the `srv+tcp://` upstreams, each keeping one resolved endpoint connected */
  private srv: SrvUpstream[] = [];
  private readonly warn: RateLimitedLog;
  private readonly failures = new FailureSignal();
  /** events dropped because the spool could not be written and memory was full */
  spoolFailureDrops = 0;
  /** figures for /metrics and tests */
  readonly stats = { eventsQueued: 0, batchesSent: 0, batchesResent: 0, batchesAcked: 0, eventsAcked: 0, eventsRejected: 0, duplicates: 0, batchesSplit: 0, eventsDropped: 0, eventsForwarded: 0, forwardDuplicates: 0 };
  /** the smallest limits an upstream has told us in a refusal (they bound the batches built from then on) */
  private upstreamMaxBytes = Number.MAX_SAFE_INTEGER;
  private upstreamMaxEvents = Number.MAX_SAFE_INTEGER;
  private readonly droppedCounter;
  private readonly m;

  constructor(options: ProducerOptions) {
    this.opts = {
      batchEvents: 1000, batchMaxBytes: 1024 * 1024, batchDelayMs: 5, window: 64, ackTimeoutMs: 3000, spoolMaxBytes: 256 * 1024 * 1024, fsync: false, stopDrainMs: 0,
      ...options,
    };
    this.log = options.log ?? createLogger('producer');
    this.warn = new RateLimitedLog(this.log);
    const m = options.metrics;
    const dropped = m?.counter('blick_spool_dropped_events_total', 'Events dropped because the spool was full');
    this.droppedCounter = m?.counter('blick_producer_dropped_events_total', 'Events the producer gave up on (reason: refused = a single event larger than the upstream accepts; invalid = no longer valid when a refused batch was split)');
    this.spool = new Spool({
      dir: this.opts.spoolDir, maxBytes: this.opts.spoolMaxBytes, fsync: this.opts.fsync, log: this.log,
      onDrop: (_b, events) => {
        dropped?.inc(events);
        // dropped batches may be in flight: forget them there too
        for (const id of [...this.inflight.keys()]) if (!this.spool.has(id)) this.inflight.delete(id);
      },
    });
    m?.gauge('blick_spool_batches', 'Unacknowledged batches in the spool').collectWith(() => this.spool.batches);
    m?.gauge('blick_spool_bytes', 'Bytes in the spool').collectWith(() => this.spool.bytes);
    m?.gauge('blick_spool_events', 'Unacknowledged events in the spool').collectWith(() => this.spool.events);
    m?.gauge('blick_producer_upstreams_connected', 'Upstream connections that are up').collectWith(() => this.connected.size);
    this.m = {
      acked: m?.counter('blick_producer_events_acked_total', 'Events the upstream acknowledged (stored, or dropped there as repeats)'),
      forwarded: m?.counter('blick_producer_events_forwarded_total', 'Events of forwarded batches written to the spool (a relay acknowledges its producer after this)'),
      forwardDuplicates: m?.counter('blick_producer_forward_duplicates_total', 'Events of forwarded batches the spool held already (a producer resent after a lost ack); acknowledged, not written twice'),
      forwardFailures: m?.counter('blick_producer_forward_failures_total', 'Forwarded batches the spool could not take (not acknowledged: the producer resends)'),
    };
  }

  /** Heard when the send or receive loop dies while running (events would only pile up in the spool). */
  onFailure(listener: FailureListener): void { this.failures.listen(listener); }

  async start(): Promise<void> {
    this.failures.reset();
    this.spool.open();
    const sock = new zmq.Dealer({
      immediate: true, // queue only to live connections, so a dead upstream does not swallow batches
      linger: 0, // unacknowledged batches are in the spool; nothing to wait for at close
      sendTimeout: 0,
      reconnectInterval: 100,
      reconnectMaxInterval: 5000,
      sendHighWaterMark: 1000,
      receiveHighWaterMark: 10000,
      maxMessageSize: DEFAULT_WIRE_LIMITS.maxMessageBytes,
    });
    if (this.opts.curve) {
      sock.curveServerKey = this.opts.curve.serverPublicKey;
      sock.curvePublicKey = this.opts.curve.publicKey;
      sock.curveSecretKey = this.opts.curve.secretKey;
    }
    sock.events.on('connect', (e) => {
      this.connected.add(e.address);
      this.log.info({ upstream: e.address }, 'connected to upstream');
      this.kick();
    });
    sock.events.on('disconnect', (e) => {
      this.connected.delete(e.address);
      this.log.warn({ upstream: e.address }, 'upstream disconnected; batches stay in the spool');
      // whatever was in flight may have died with the connection: resend it (the receiver drops repeats)
      for (const f of this.inflight.values()) f.deadline = 0;
      this.kick();
    });
    sock.events.on('handshake:error:auth', (e) => this.log.error({ upstream: e.address }, 'upstream refused our CURVE key'));
    this.srv = [];
    for (const u of this.opts.upstreams) {
      const name = srvName(u);
      if (name === undefined) sock.connect(u);
      else this.srv.push(this.srvUpstream(name, sock));
    }
    this.socket = sock;
    this.running = true;
    for (const s of this.srv) void s.tick();
    this.tick = setInterval(() => { for (const s of this.srv) void s.tick(); this.kick(); }, Math.max(50, Math.min(500, this.opts.ackTimeoutMs / 4)));
    this.loops = [this.watch('send', this.sendLoop()), this.watch('receive', this.receiveLoop())];
  }

  /** An `srv+tcp://` upstream whose resolved endpoint is connected and disconnected on `sock`. */
  private srvUpstream(name: string, sock: zmq.Dealer): SrvUpstream {
    const d = this.opts.discovery ?? {};
    const m = this.opts.metrics;
    return new SrvUpstream({
      name,
      resolver: d.resolver ?? dnsResolver(DEFAULT_DNS.servers),
      refreshMs: d.refreshMs ?? DEFAULT_DNS.refresh,
      failoverMs: d.failoverMs ?? DEFAULT_DNS.failover,
      ...(d.now ? { now: d.now } : {}),
      log: this.log,
      lookups: m?.counter('blick_dns_srv_lookups_total', 'SRV lookups of srv+tcp:// upstreams by result (ok; failed or empty keep the last good targets)'),
      changes: m?.counter('blick_upstream_target_changes_total', 'Times an srv+tcp:// upstream moved to another target (record changed, or failover)'),
      sink: {
        connect: (ep) => sock.connect(ep),
        disconnect: (ep) => {
          try { sock.disconnect(ep); } catch { /* never connected (closed socket) */ }
          this.connected.delete(ep);
          // what was in flight to it will not be acknowledged: resend it to the new target (the receiver drops repeats)
          for (const f of this.inflight.values()) f.deadline = 0;
          this.kick();
        },
        isConnected: (ep) => this.connected.has(ep),
      },
    });
  }

  /** A loop that returns or throws while running is a failure of the producer. */
  private watch(which: string, loop: Promise<void>): Promise<void> {
    return loop.then(() => {
      if (this.running) this.failures.fail(new BlickError('COMPONENT_FAILED', `the producer's ${which} loop ended while running`));
    }, (err: unknown) => {
      this.log.error({ err }, `${which} loop failed`);
      if (this.running) this.failures.fail(new BlickError('COMPONENT_FAILED', `the producer's ${which} loop failed: ${(err as Error).message}`, { cause: err }));
    });
  }

  /** Queue one event; it is batched and spooled within batchDelayMs. */
  send(event: BlickEvent): void {
    this.pending.push(event);
    this.stats.eventsQueued++;
    if (this.pending.length >= this.opts.batchEvents) this.flush();
    else if (!this.batchTimer) this.batchTimer = setTimeout(() => this.flush(), this.opts.batchDelayMs);
  }

  /** Cut the pending events into a batch now (spooled, then sent). */
  flush(): void {
    if (this.batchTimer) { clearTimeout(this.batchTimer); this.batchTimer = undefined; }
    const maxEvents = Math.min(this.opts.batchEvents, this.upstreamMaxEvents);
    while (this.pending.length > 0) {
      const events = this.pending.length <= maxEvents ? this.pending : this.pending.slice(0, maxEvents);
      this.pending = events === this.pending ? [] : this.pending.slice(events.length);
      let spooled = 0;
      try {
        const seq = this.spool.reserve(events.length);
        for (const part of this.cut(this.ids.next(), seq, events, false, this.ownHead())) { this.spool.append(part); spooled += part.events; }
      } catch (err) {
        // the spool cannot write (disk full, directory gone): keep the events not yet
        // spooled in memory, bounded, and try again shortly; never crash the daemon over it
        this.pending = (spooled === 0 ? events : events.slice(spooled)).concat(this.pending);
        const over = this.pending.length - MAX_PENDING_EVENTS;
        if (over > 0) { this.pending.splice(0, over); this.spoolFailureDrops += over; }
        this.warn.warn('spool-write', { err: (err as Error).message, pending: this.pending.length, dropped: this.spoolFailureDrops }, 'cannot write to the spool; events held in memory');
        if (!this.batchTimer && this.running) this.batchTimer = setTimeout(() => this.flush(), 1000);
        break;
      }
    }
    this.kick();
  }

  private ownHead(): Head { return { producer: this.opts.producer, forwarded: false, producerId: this.spool.producerId }; }

  /**
   * Encode `events` (numbered from `seq`) as batches within the byte and event
   * limits: halves, recursively, with ids derived from `id`. `split` forces at
   * least one cut (the batch was refused as it is). A single event is never cut.
   * `head` says whose batch it is: ours (our numbers and low water) or a
   * forwarded one (its producer's, unchanged).
   */
  private cut(id: string, seq: number, events: BlickEvent[], split: boolean, head: Head): SpoolPart[] {
    const maxBytes = Math.min(this.opts.batchMaxBytes, this.upstreamMaxBytes);
    const maxEvents = Math.min(this.opts.batchEvents, this.upstreamMaxEvents);
    if (!split || events.length === 1) {
      const origin = head.producerId ? { producerId: head.producerId, seq, lowWater: head.lowWater ?? Math.min(seq, this.spool.lowWater) } : undefined;
      const data = encodeBatch({ id, events, producer: head.producer, origin });
      if (events.length === 1 || (data.length <= maxBytes && events.length <= maxEvents)) return [{ id, seq, events: events.length, data, forwarded: head.forwarded, origin: head.forwarded ? head.producerId : undefined }];
    }
    const half = Math.ceil(events.length / 2);
    return [
      ...this.cut(partId(id, 0, () => this.ids.next()), seq, events.slice(0, half), false, head),
      ...this.cut(partId(id, 1, () => this.ids.next()), seq + half, events.slice(half), false, head),
    ];
  }

  /**
   * Forward a batch another producer made (a relay's ingest, a server's
   * upstream): written to the spool, keeping its id, its producer's name and
   * its origin (producer id, event numbers, low water), and sent like our own.
   * Resolves once the spool holds it (the caller acknowledges its producer
   * then); rejects with SPOOL_FAILED when the spool cannot take it, so the
   * caller does not acknowledge and the producer resends.
   *
   * `numbers` (from the Receiver) give each event's number: where the receiver
   * dropped invalid events they have gaps, and the batch is cut into
   * contiguous runs (ids `<id>-r<i>`, so a resend cuts the same runs). A part
   * the spool already holds (a resend after a lost ack) is not written again;
   * a part it no longer holds is, and the server drops it by its numbers.
   * Events without a time (0) get the time of this call.
   *
   * `raw`, the batch's encoded message as it arrived (the Receiver gives it
   * when it says exactly what was decoded), is spooled as it is when nothing
   * needs changing: no gaps, no time to fill in, the low water not lowered,
   * within our batch limits. That saves encoding the batch again.
   */
  async forward(batch: Batch, numbers?: BatchNumbers, raw?: Uint8Array): Promise<ForwardResult> {
    if (!this.running) throw new BlickError('SPOOL_FAILED', `the producer ${this.opts.producer} is not running; batch ${batch.id} not spooled (the sender resends it)`);
    const o = batch.origin;
    const now = Date.now();
    let events = batch.events;
    if (events.some((e) => e.time === 0)) events = events.map((e) => (e.time === 0 ? { ...e, time: now } : e));
    // contiguous runs of numbers: [first index, end index)
    const seqs = o ? (numbers?.seqs ?? events.map((_, i) => o.seq + i)) : undefined;
    const runs: [number, number][] = [];
    for (let i = 0; i < events.length; i++) {
      const last = runs[runs.length - 1];
      if (last && seqs && seqs[i] === seqs[i - 1]! + 1) last[1] = i + 1;
      else if (last && !seqs) last[1] = i + 1;
      else runs.push([i, i + 1]);
    }
    // the low water is the producer's, lowered below any of its batches we still hold: those
    // may reach the receiver after this one, and must not be taken for repeats there
    const held = o ? this.spool.lowestOf(o.producerId) : undefined;
    const head: Head = { producer: batch.producer, forwarded: true, producerId: o?.producerId, lowWater: o && held !== undefined ? Math.min(o.lowWater, held) : o?.lowWater };
    const asItIs = raw !== undefined && events === batch.events && runs.length === 1 && runs[0]![1] === batch.events.length && (seqs === undefined || seqs[0] === o!.seq)
      && head.lowWater === o?.lowWater && raw.length <= Math.min(this.opts.batchMaxBytes, this.upstreamMaxBytes) && events.length <= Math.min(this.opts.batchEvents, this.upstreamMaxEvents);
    const result: ForwardResult = { spooled: 0, duplicates: 0 };
    try {
      for (let r = 0; r < runs.length; r++) {
        const [from, to] = runs[r]!;
        const id = runs.length === 1 ? batch.id : `${batch.id}-r${r}`;
        const seq = seqs ? seqs[from]! : 0;
        let parts: SpoolPart[] = asItIs ? [{ id, seq, events: events.length, data: raw!, forwarded: true, origin: o?.producerId }] : this.cut(id, seq, events.slice(from, to), false, head);
        const same = (p: SpoolPart, have: SpooledBatch) => have.forwarded && have.seq === p.seq && have.events === p.events;
        // the same id for other events (another producer's batch): the run goes under a fresh id
        // (the ack names the id, so it must be unique in the spool); the numbers still dedupe
        if (parts.some((p) => { const have = this.spool.get(p.id); return have !== undefined && !same(p, have); })) parts = this.cut(this.ids.next(), seq, events.slice(from, to), false, head);
        for (const part of parts) {
          const have = this.spool.get(part.id);
          if (have) { result.duplicates += part.events; continue; }
          this.spool.append(part);
          result.spooled += part.events;
        }
      }
    } catch (err) {
      this.m.forwardFailures?.inc();
      this.kick();
      throw new BlickError('SPOOL_FAILED', `cannot write forwarded batch ${batch.id} to the spool ${this.opts.spoolDir}: ${(err as Error).message} (not acknowledged; the sender resends it)`, { cause: err });
    }
    this.stats.eventsForwarded += result.spooled;
    this.stats.forwardDuplicates += result.duplicates;
    this.m.forwarded?.inc(result.spooled);
    if (result.duplicates > 0) this.m.forwardDuplicates?.inc(result.duplicates);
    this.kick();
    return result;
  }

  /**
   * The upstream refused a batch as too large: cut it into halves in its place
   * in the spool (same event numbers, so a half the receiver already has is
   * dropped there), or give up on it if it is a single event.
   */
  private refused(entry: SpooledBatch, ack: Ack): void {
    if (ack.maxMessageBytes) this.upstreamMaxBytes = Math.min(this.upstreamMaxBytes, ack.maxMessageBytes);
    if (ack.maxBatchEvents) this.upstreamMaxEvents = Math.min(this.upstreamMaxEvents, ack.maxBatchEvents);
    // our own spool: every source it holds went in through a checked path (a server forwards api and server events too)
    const decoded = decodeMessage(this.spool.read(entry), OWN_LIMITS, Date.now, OWN_RULES);
    const events = decoded.kind === 'batch' ? decoded.batch.events : [];
    const invalid = decoded.kind === 'batch' ? decoded.invalid : 0;
    if (invalid > 0) {
      // only if validation got stricter since the batch was spooled (an upgrade)
      this.stats.eventsDropped += invalid;
      this.droppedCounter?.inc(invalid, { reason: 'invalid' });
    }
    if (events.length <= 1) {
      this.spool.ack(entry.id);
      this.stats.eventsDropped += events.length;
      this.droppedCounter?.inc(events.length, { reason: 'refused' });
      this.warn.warn('refused', { batch: entry.id, error: ack.error, bytes: entry.bytes }, 'upstream refused a single event as too large; dropped (it can never be accepted)');
      return;
    }
    const b = decoded.kind === 'batch' ? decoded.batch : undefined;
    let head: Head, seq: number;
    if (entry.forwarded) {
      // another producer's batch: its halves keep its origin, never ours
      head = { producer: b?.producer ?? '', forwarded: true, producerId: b?.origin?.producerId, lowWater: b?.origin?.lowWater };
      seq = b?.origin?.seq ?? 0;
    } else {
      head = this.ownHead();
      // a batch spooled before events were numbered gets fresh numbers (its file order number is not one)
      seq = b?.origin ? b.origin.seq : this.spool.reserve(events.length);
    }
    this.spool.replace(entry.id, this.cut(entry.id, seq, events, true, head));
    this.stats.batchesSplit++;
    this.log.info({ batch: entry.id, events: events.length, error: ack.error }, 'upstream refused a batch as too large; split it in halves');
  }

  /** Resolves when every event queued so far has been acknowledged. */
  drained(): Promise<void> {
    this.flush();
    if (this.spool.batches === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Is the producer running with a spool it can write (a relay is ready to acknowledge)? */
  get spoolWritable(): boolean { return this.running && this.spool.writable(); }

  /** Upstream connections that are up. */
  get upstreamsConnected(): number { return this.connected.size; }

  get unacknowledged(): { batches: number; events: number } { return { batches: this.spool.batches, events: this.spool.events + this.pending.length }; }
  get droppedEvents(): number { return this.spool.droppedEvents; }

  private kick(): void { const w = this.wake; this.wake = undefined; w?.(); }

  private nextToSend(now: number): InFlight | undefined {
    // first: overdue in-flight batches (oldest first); then new ones while the window allows
    for (const f of this.inflight.values()) if (f.deadline <= now) return f;
    if (this.inflight.size >= this.opts.window) return undefined;
    for (const entry of this.spool.values()) {
      if (!this.inflight.has(entry.id)) {
        const f: InFlight = { entry, deadline: 0, attempts: 0 };
        this.inflight.set(entry.id, f);
        return f;
      }
    }
    return undefined;
  }

  private async sendLoop(): Promise<void> {
    while (this.running) {
      const f = this.nextToSend(Date.now());
      if (!f) { await new Promise<void>((r) => { this.wake = r; }); continue; }
      if (!this.spool.has(f.entry.id)) { this.inflight.delete(f.entry.id); continue; }
      try {
        await this.socket!.send(this.spool.read(f.entry));
        if (f.attempts > 0) this.stats.batchesResent++;
        this.stats.batchesSent++;
        f.attempts++;
        f.deadline = Date.now() + Math.min(30_000, this.opts.ackTimeoutMs * 2 ** Math.min(f.attempts - 1, 4));
      } catch (err) {
        if (!this.running) return;
        // EAGAIN: no live upstream (immediate) or its queue is full: wait for a connect or the
        // tick. The batch stays due, so that it goes before any newer one (order per host, and
        // a relay's newer batch must not overtake an older one of the same producer)
        f.deadline = 0;
        if ((err as { code?: string }).code !== 'EAGAIN') this.log.warn({ err }, 'send failed; will retry');
        await new Promise<void>((r) => { this.wake = r; });
      }
    }
  }

  private async receiveLoop(): Promise<void> {
    const sock = this.socket!;
    try {
      for await (const [msg] of sock) {
        if (!msg) continue;
        let decoded;
        try { decoded = decodeMessage(msg); } catch (err) { this.log.warn({ err }, 'undecodable message from upstream'); continue; }
        if (decoded.kind !== 'ack') continue;
        const { ack } = decoded;
        this.inflight.delete(ack.batchId);
        const refused = ack.refusal ? this.spool.get(ack.batchId) : undefined;
        if (refused) {
          try { this.refused(refused, ack); } catch (err) {
            // e.g. the disk is full: try again later rather than resend it at once to be refused again
            this.inflight.set(refused.id, { entry: refused, deadline: Date.now() + this.opts.ackTimeoutMs, attempts: 1 });
            this.warn.warn('split', { err: (err as Error).message }, 'could not split a refused batch; it stays in the spool');
          }
        } else if (ack.error && !ack.refusal) {
          // refused as a whole for another reason: resending will not help; drop it loudly
          this.log.error({ batch: ack.batchId, error: ack.error }, 'upstream refused a batch; dropped');
        }
        const entry = ack.refusal ? undefined : this.spool.ack(ack.batchId);
        if (entry) {
          this.stats.batchesAcked++;
          this.stats.eventsAcked += ack.accepted;
          this.stats.duplicates += ack.duplicates;
          this.stats.eventsRejected += ack.rejected;
          this.m.acked?.inc(ack.accepted + ack.duplicates);
        }
        if (this.spool.batches === 0 && this.pending.length === 0) {
          const w = this.drainWaiters; this.drainWaiters = [];
          for (const r of w) r();
        }
        this.kick();
      }
    } catch (err) {
      if (this.running) throw err;
    }
  }

  /** Spool what is pending, wait up to `stopDrainMs` for acks, and close; unacknowledged batches stay in the spool for the next start. */
  async stop(): Promise<void> {
    if (!this.running) return;
    if (this.opts.stopDrainMs > 0 && !this.failures.failed) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.drained(), new Promise((r) => { timer = setTimeout(r, this.opts.stopDrainMs); })]);
      clearTimeout(timer);
    }
    this.flush();
    this.running = false;
    if (this.tick) clearInterval(this.tick);
    for (const s of this.srv) s.stop();
    this.kick();
    this.socket?.close();
    await Promise.allSettled(this.loops);
    const left = this.spool.batches;
    if (left > 0) this.log.info({ batches: left, events: this.spool.events }, 'stopped with unacknowledged batches spooled');
  }
}
