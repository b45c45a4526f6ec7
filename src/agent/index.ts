import { part, Supervisor, type Component, type FailureListener } from '../core/component.js';
import type { CurveConfig } from '../core/config.js';
import { makeEvent } from '../core/event.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import { Registry } from '../core/metrics.js';
import { blickVersion } from '../core/version.js';
import { producerFromConfig } from '../transport/config.js';
import type { DnsConfig } from '../transport/discovery.js';
import type { Producer } from '../transport/producer.js';
import { NagiosCheck } from './checks/index.js';
import type { AgentConfig } from './config.js';
import { FactsObserver } from './facts/index.js';
import type { Monitor, MonitorContext, MonitorEvent, Observer } from './monitor.js';
import { HeartbeatObserver } from './observers/heartbeat/index.js';
import { BUILTIN_MONITORS } from './registry.js';

export { agentConfigSchema, type AgentConfig } from './config.js';

export interface AgentDeps {
  dataDir: string;
  curve?: CurveConfig | undefined;
  /** how srv+tcp:// upstreams are resolved (the top-level `dns:` section) */
  dns?: DnsConfig | undefined;
  log?: Logger;
  metrics?: Registry;
  now?: () => number;
  /** extra monitors (tests, embedding) */
  monitors?: Monitor[];
}

/**
 * The Blick agent: runs listeners and observers, stamps their events with the
 * host, and hands them to the producer (batch → spool → ZeroMQ → ack).
 */
export class BlickAgent implements Component {
  readonly name = 'agent';
  readonly producer: Producer;
  readonly monitors: Monitor[];
  private readonly log: Logger;
  private readonly warn: RateLimitedLog;
  private readonly ctx: MonitorContext;
  private timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  private started: Monitor[] = [];
  /** producer → monitors: monitors emit into a running producer, which drains after the last of them stopped */
  private readonly parts: Supervisor;
  /** events monitors produced that failed validation */
  invalidEvents = 0;

  constructor(readonly config: AgentConfig, deps: AgentDeps) {
    this.log = deps.log ?? createLogger('agent');
    this.warn = new RateLimitedLog(this.log);
    const now = deps.now ?? Date.now;
    this.producer = producerFromConfig(config, { dataDir: deps.dataDir, spool: 'agent', producer: config.host, curve: deps.curve, dns: deps.dns, log: this.log, metrics: deps.metrics ?? new Registry() });
    const host = config.host;
    this.ctx = {
      host,
      log: this.log,
      now,
      emit: (ev: MonitorEvent) => {
        try {
          this.producer.send(makeEvent({ ...ev, host: ev.host ?? host }, { source: 'agent', now }));
        } catch (err) {
          this.invalidEvents++;
          this.warn.warn('invalid-event', { service: ev.service, error: (err as Error).message }, 'a monitor produced an invalid event; dropped');
        }
      },
    };
    const monitors: Monitor[] = [new FactsObserver(config.facts_interval, blickVersion())];
    if (config.heartbeat > 0) monitors.push(new HeartbeatObserver(config.heartbeat));
    for (const c of config.checks) monitors.push(new NagiosCheck(c));
    const sections = config as unknown as Record<string, unknown>;
    for (const f of BUILTIN_MONITORS) monitors.push(...f.create(sections[f.key] as never, { host, dataDir: deps.dataDir }));
    monitors.push(...(deps.monitors ?? []));
    this.monitors = monitors;
    this.parts = new Supervisor('agent', [this.producer, part('monitors', () => this.startMonitors(), () => this.stopMonitors())], this.log);
  }

  onFailure(listener: FailureListener): void { this.parts.onFailure(listener); }

  async start(): Promise<void> {
    await this.parts.start();
    this.log.info({ host: this.config.host, upstreams: this.config.upstreams, monitors: this.started.map((m) => m.name) }, 'agent started');
  }

  async stop(): Promise<void> {
    await this.parts.stop();
    this.log.info('agent stopped');
  }

  /** The context monitors emit through (for embedding and tests). */
  get context(): MonitorContext { return this.ctx; }

  private async startMonitors(): Promise<void> {
    for (const m of this.monitors) {
      try {
        if (m.kind === 'listener') await m.start(this.ctx);
        else this.schedule(m);
        this.started.push(m);
      } catch (err) {
        // one broken monitor must not keep the others (and the heartbeat) from running
        this.log.error({ monitor: m.name, err }, 'monitor failed to start');
        this.ctx.emit({ service: `blick monitor ${m.name}`, state: 'critical', description: `monitor failed to start: ${(err as Error).message}` });
      }
    }
  }

  private schedule(o: Observer): void {
    let busy = false;
    const run = () => {
      if (busy) return; // the previous run is still going: skip, do not pile up
      busy = true;
      const p = Promise.resolve().then(() => o.observe(this.ctx)).catch((err) => {
        this.warn.warn(`observer:${o.name}`, { observer: o.name, err }, 'observer failed');
      }).finally(() => { busy = false; this.running.delete(p); });
      this.running.add(p);
    };
    run();
    this.timers.push(setInterval(run, o.intervalMs));
  }

  private async stopMonitors(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const m of this.started.reverse()) {
      try {
        if (m.kind === 'listener') await m.stop();
        else await m.stop?.();
      } catch (err) { this.log.warn({ monitor: m.name, err }, 'monitor did not stop cleanly'); }
    }
    this.started = [];
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, 2000))]);
  }
}
