import type { Component } from '../../../core/component.js';
import type { EventInput } from '../../../core/event.js';
import { RateLimitedLog } from '../../../core/log.js';
import type { Counter, Gauge, Histogram } from '../../../core/metrics.js';
import type { SourceDeps } from '../source.js';
import { DEFAULT_MAX_IN_FLIGHT, type DeviceConfig } from './config.js';
import { DevicePoll, type PollOutcome } from './device.js';
import { netSnmpSession, type SessionFactory, type SnmpSession } from './session.js';

export { deviceConfigSchema, devicesConfigSchema, maxInFlightSchema, DEFAULT_MAX_IN_FLIGHT, type DeviceConfig } from './config.js';

/** The timer functions the poller schedules with; injectable so that tests drive time. */
export interface PollTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the relay may set beside the device list (all optional). */
export interface PollerOptions {
  /** devices polled at once (`relay.snmp.max_in_flight`) [16] */
  maxInFlight?: number;
  /** opens a session per poll [net-snmp] */
  session?: SessionFactory;
  timers?: PollTimers;
}

interface Device {
  readonly config: DeviceConfig;
  readonly poll: DevicePoll;
  /** polling or waiting for a place: a tick meanwhile is skipped, so polls of one device never overlap */
  busy: boolean;
  timer?: unknown;
  /** the open session of the poll under way (closed by stop) */
  session?: SnmpSession;
}

/**
 * Polls `relay.snmp.devices`: each device every `interval` (the first polls
 * spread over one interval, so that many devices do not start at once), at
 * most `maxInFlight` devices at a time, the others queued in order (the queue
 * holds each device once, so it is bounded by the device list). A device
 * whose previous poll is still running or queued skips the tick (counted as
 * `skipped`). One SNMP session per poll: a poll holds one UDP socket only
 * while it runs.
 *
 * @example
 * const poller = createPoller(devicesConfigSchema.parse([{ host: 'sw-01', address: '10.0.0.2', community: 'public' }]), deps, { maxInFlight: 8 });
 * await poller.start();
 */
export class SnmpPoller implements Component {
  readonly name = 'snmp-poller';
  private readonly devices: Device[];
  private readonly queue: Device[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private readonly maxInFlight: number;
  private readonly openSession: SessionFactory;
  private readonly timers: PollTimers;
  private readonly now: () => number;
  private readonly warn: RateLimitedLog;
  private readonly polls: Counter;
  private readonly duration: Histogram;
  private readonly badValues: Counter;
  private readonly overLimit: Counter;
  private readonly invalid: Counter;
  private readonly inFlightGauge: Gauge;
  private readonly queuedGauge: Gauge;

  constructor(devices: DeviceConfig[], private readonly deps: SourceDeps, options: PollerOptions = {}) {
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.openSession = options.session ?? netSnmpSession;
    this.timers = options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
    this.now = deps.now ?? Date.now;
    this.warn = new RateLimitedLog(deps.log, 60_000, this.now);
    const m = deps.metrics;
    this.polls = m.counter('blick_snmp_polls_total', 'SNMP device polls by outcome (ok, timeout, auth, error, skipped)');
    this.duration = m.histogram('blick_snmp_poll_duration_seconds', 'time one device poll took', [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.badValues = m.counter('blick_snmp_poll_bad_values_total', 'polled values that could not be used, by reason (missing, not_numeric, not_counter)');
    this.overLimit = m.counter('blick_snmp_poll_interfaces_over_limit_total', 'polls of a device with more interfaces than its max_interfaces (the rest were not read)');
    this.invalid = m.counter('blick_snmp_poll_events_invalid_total', 'events built from polled data that the event rules refused (dropped)');
    this.inFlightGauge = m.gauge('blick_snmp_polls_in_flight', 'device polls running now');
    this.queuedGauge = m.gauge('blick_snmp_polls_queued', 'device polls waiting for a place (relay.snmp.max_in_flight)');
    this.devices = devices.map((config) => ({ config, busy: false, poll: new DevicePoll(config, this.hooks(config)) }));
  }

  private hooks(config: DeviceConfig): ConstructorParameters<typeof DevicePoll>[1] {
    const host = config.host;
    return {
      now: this.now,
      emit: (e: EventInput) => this.emit(e),
      badValue: (reason, detail) => {
        this.badValues.inc(1, { reason });
        this.warn.warn(`bad:${host}:${String(detail.oid)}`, { ...detail, reason }, 'SNMP value cannot be used; check the OID in relay.snmp.devices');
      },
      interfacesOverLimit: (read) => {
        this.overLimit.inc();
        this.warn.warn(`iflimit:${host}`, { host, read, max_interfaces: config.max_interfaces }, 'device has more interfaces than max_interfaces; the rest are not polled (raise max_interfaces or use ignore_interfaces)');
      },
    };
  }

  private emit(e: EventInput): void {
    if (!this.running) return; // a poll cut short by stop() reports nothing
    try {
      this.deps.emit(e);
    } catch (err) {
      // the device named something the event rules refuse (a control character in ifDescr, …)
      this.invalid.inc();
      this.warn.warn(`invalid:${e.host}`, { host: e.host, service: e.service, err }, 'event from polled data refused');
    }
  }

  async start(): Promise<void> {
    this.running = true;
    const n = this.devices.length;
    this.devices.forEach((d, i) => {
      // spread the first polls over one interval (the longest spread is a minute)
      const offset = Math.floor((Math.min(d.config.interval, 60_000) * i) / Math.max(1, n));
      this.arm(d, offset);
    });
  }

  private arm(d: Device, ms: number): void {
    d.timer = this.timers.setTimeout(() => {
      if (!this.running) return;
      this.arm(d, d.config.interval);
      this.due(d);
    }, ms);
  }

  /** Poll the device of this host now, as if its interval had come round (for tests and a future API). */
  tick(host: string): void {
    const dev = this.devices.find((x) => x.config.host === host);
    if (dev) this.due(dev);
  }

  /** One due poll of a device: queued, or skipped when its previous one is still running or waiting. */
  private due(dev: Device): void {
    if (!this.running) return;
    if (dev.busy) {
      this.polls.inc(1, { outcome: 'skipped' });
      this.warn.warn(`skip:${dev.config.host}`, { host: dev.config.host, interval_ms: dev.config.interval }, 'previous poll of the device has not finished; this one is skipped (raise interval or relay.snmp.max_in_flight, or lower timeout/retries)');
      return;
    }
    dev.busy = true;
    this.queue.push(dev);
    this.drain();
  }

  private drain(): void {
    while (this.running && this.inFlight.size < this.maxInFlight && this.queue.length > 0) {
      const dev = this.queue.shift()!;
      const p = this.pollDevice(dev).finally(() => {
        this.inFlight.delete(p);
        dev.busy = false;
        this.inFlightGauge.set(this.inFlight.size);
        this.drain();
      });
      this.inFlight.add(p);
    }
    this.inFlightGauge.set(this.inFlight.size);
    this.queuedGauge.set(this.queue.length);
  }

  private async pollDevice(dev: Device): Promise<void> {
    const t0 = this.now();
    let outcome: PollOutcome = 'error';
    try {
      dev.session = this.openSession(dev.config);
      outcome = await dev.poll.poll(dev.session);
    } catch (err) {
      // the poll reports request failures itself; this is a session that could not be opened
      this.warn.warn(`poll:${dev.config.host}`, { host: dev.config.host, err }, 'SNMP poll failed');
    } finally {
      dev.session?.close();
      dev.session = undefined;
    }
    if (!this.running) return;
    this.polls.inc(1, { outcome });
    this.duration.observe(Math.max(0, this.now() - t0) / 1000);
    if (outcome !== 'ok') this.warn.warn(`poll:${dev.config.host}:${outcome}`, { host: dev.config.host, address: dev.config.address, port: dev.config.port, outcome }, 'SNMP poll of the device failed');
  }

  /** Resolves when no poll is running or queued (for tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const d of this.devices) {
      if (d.timer !== undefined) this.timers.clearTimeout(d.timer);
      d.timer = undefined;
      // cancels the pending request: its poll ends at once
      d.session?.close();
    }
    for (const d of this.queue) d.busy = false;
    this.queue.length = 0;
    this.queuedGauge.set(0);
    await Promise.allSettled([...this.inFlight]);
  }
}

/** The SNMP poller of `relay.snmp.devices` (`options.maxInFlight` from `relay.snmp.max_in_flight`). */
export function createPoller(devices: DeviceConfig[], deps: SourceDeps, options: PollerOptions = {}): SnmpPoller {
  return new SnmpPoller(devices, deps, options);
}
