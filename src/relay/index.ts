import { part, Supervisor, type Component, type FailureListener } from '../core/component.js';
import { BlickError } from '../core/errors.js';
import { DEFAULT_TIME_BOUNDS, makeEvent, PRODUCER_SOURCES, type EventInput } from '../core/event.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import { Registry } from '../core/metrics.js';
import { isLocalEndpoint, isLoopback, splitHostPort } from '../core/net.js';
import { producerFromConfig, type ProducingDaemonDeps } from '../transport/config.js';
import { curveServerFromConfig } from '../transport/curve.js';
import type { Producer } from '../transport/producer.js';
import { Receiver } from '../transport/receiver.js';
import type { RelayConfig } from './config.js';
import { RelayHttp } from './http.js';
import { createPoller } from './snmp/poll/index.js';
import type { SourceDeps } from './snmp/source.js';
import { createTrapListener } from './snmp/traps/index.js';

export { relayConfigSchema, type RelayConfig } from './config.js';

/** What the composition root gives a relay besides its section. */
export interface RelayDeps extends ProducingDaemonDeps {
  /** unix ms [Date.now] */
  now?: () => number;
}

/**
 * `blick relay`: the server's Receiver on one side and a Producer on the
 * other. A batch from an agent, a statsd or another relay is validated as
 * the server validates it, written to the relay's spool by Producer.forward
 * (keeping its id and its origin's numbers, so the server drops every repeat
 * exactly), and only then acknowledged; the producer sends it upstream and
 * forgets it on the upstream's ack. SNMP parts, when configured, emit their
 * events (source snmp) through the same producer. One supervisor: producer →
 * receiver → SNMP → heartbeat → HTTP, stopped in reverse; a part that dies
 * stops them all.
 */
export class BlickRelay implements Component {
  readonly name = 'relay';
  readonly producer: Producer;
  readonly receiver: Receiver;
  readonly http: RelayHttp;
  readonly metrics: Registry;
  private readonly log: Logger;
  private readonly parts: Supervisor;
  private ready = false;

  constructor(readonly config: RelayConfig, deps: RelayDeps) {
    this.log = deps.log ?? createLogger('relay');
    const metrics = this.metrics = deps.metrics ?? new Registry();
    const now = deps.now ?? Date.now;
    const curve = curveServerFromConfig(deps.curve, this.log);
    if (!curve && !config.insecure_ingest && !isLocalEndpoint(config.ingest)) {
      throw new BlickError('INSECURE_BIND', `relay.ingest is ${config.ingest}, which is not loopback, and CURVE is not configured, so anyone who can reach it could send events; add a curve: section (blick keygen --out DIR; docs/configuration.md "curve:"), bind tcp://127.0.0.1:PORT, or set relay.insecure_ingest: true`);
    }
    if (config.http_token === undefined && !isLoopback(splitHostPort(config.http).host)) {
      throw new BlickError('INSECURE_BIND', `relay.http is ${config.http}, which is not loopback, and relay.http_token is not set; set a token or listen on 127.0.0.1`);
    }
    this.producer = producerFromConfig(config, { dataDir: deps.dataDir, spool: 'relay', producer: config.host, curve: deps.curve, dns: deps.dns, log: this.log, metrics });
    const producer = this.producer;
    const warn = new RateLimitedLog(this.log);
    this.receiver = new Receiver({
      bind: config.ingest,
      // acknowledged (accepted = spooled) only once the spool holds it; a spool failure is no ack, so the producer resends
      handler: async (batch, numbers, raw) => {
        const r = await producer.forward(batch, numbers, raw);
        return { accepted: r.spooled, duplicates: r.duplicates };
      },
      limits: { maxMessageBytes: config.limits.max_message_bytes, maxBatchEvents: config.limits.max_batch_events },
      events: { sources: PRODUCER_SOURCES, time: { maxFutureSkewMs: config.limits.max_future_skew, minTime: DEFAULT_TIME_BOUNDS.minTime } },
      curve,
      log: this.log.child({ part: 'ingest' }),
      metrics,
      now,
    });
    const invalid = metrics.counter('blick_relay_invalid_events_total', 'Events the relay\'s own parts (SNMP, heartbeat) made that failed validation; dropped');
    const send = (input: EventInput, source: 'snmp' | 'relay') => {
      try { producer.send(makeEvent(input, { source, now })); } catch (err) {
        invalid.inc(1, { source });
        warn.warn(`invalid-${source}`, { host: input.host, service: input.service, error: (err as Error).message }, 'an event made by the relay was invalid; dropped');
      }
    };
    const snmpDeps: SourceDeps = { emit: (e) => send(e, 'snmp'), log: this.log.child({ part: 'snmp' }), metrics, now };
    const snmp: Component[] = [];
    if (config.snmp.traps) snmp.push(createTrapListener(config.snmp.traps, snmpDeps));
    if (config.snmp.devices.length > 0) snmp.push(createPoller(config.snmp.devices, snmpDeps, { maxInFlight: config.snmp.max_in_flight }));
    this.http = new RelayHttp({ listen: config.http, metrics, token: config.http_token, ready: () => this.ready && producer.spoolWritable, log: this.log.child({ part: 'http' }) });
    this.parts = new Supervisor('relay', [
      producer,
      this.receiver,
      ...snmp,
      this.heartbeat((e) => send(e, 'relay')),
      this.http,
      part('ready', () => { this.ready = true; }, () => { this.ready = false; }),
    ], this.log);
  }

  /** The relay's own `blick relay` event: it is alive, and how much it holds (so the server alerts on a relay that went away). */
  private heartbeat(emit: (e: EventInput) => void): Component {
    let timer: NodeJS.Timeout | undefined;
    const every = this.config.heartbeat;
    const beat = () => {
      const u = this.producer.unacknowledged;
      emit({
        host: this.config.host, service: 'blick relay', state: 'ok', ttl: (every * 3) / 1000, metric: u.events,
        description: `relay up; ${u.events} events in ${u.batches} batches spooled; ${this.producer.upstreamsConnected} upstream connections`,
        attributes: { spooled_events: String(u.events), spooled_batches: String(u.batches), upstreams_connected: String(this.producer.upstreamsConnected) },
      });
    };
    return part('heartbeat', () => {
      if (every <= 0) return;
      beat();
      timer = setInterval(beat, every);
      timer.unref();
    }, () => { if (timer) clearInterval(timer); timer = undefined; });
  }

  onFailure(listener: FailureListener): void { this.parts.onFailure(listener); }

  async start(): Promise<void> {
    await this.parts.start();
    this.log.info({ ingest: this.receiver.endpoint, upstreams: this.config.upstreams, http: this.http.url, snmp: { traps: this.config.snmp.traps !== undefined, devices: this.config.snmp.devices.length } }, 'relay started');
  }

  async stop(): Promise<void> {
    await this.parts.stop();
    this.log.info('relay stopped');
  }
}
