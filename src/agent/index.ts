import { join } from 'node:path';
import { part, Supervisor, type Component, type FailureListener } from '../core/component.js';
import { makeEvent } from '../core/event.js';
import { createLogger, RateLimitedLog, type Logger } from '../core/log.js';
import { Registry } from '../core/metrics.js';
import { blickVersion } from '../core/version.js';
import { producerFromConfig, type ProducingDaemonDeps } from '../transport/config.js';
import type { Producer } from '../transport/producer.js';
import { NagiosCheck } from './checks/index.js';
import { CheckSetApplier } from './classification/apply.js';
import { CheckSetClient } from './classification/checkset.js';
import { ApiClient } from './classification/http.js';
import { PuppetCatalogSender } from './classification/puppet.js';
import { agentServerSchema } from './classification/schema.js';
import type { AgentConfig } from './config.js';
import { FactsObserver, gatherFacts } from './facts/index.js';
import type { Monitor, MonitorContext, MonitorEvent, Observer } from './monitor.js';
import { SystemdListener, systemdSchema } from './listeners/systemd/index.js';
import { HeartbeatObserver } from './observers/heartbeat/index.js';
import { BUILTIN_MONITORS } from './registry.js';

export { agentConfigSchema, type AgentConfig } from './config.js';

export interface AgentDeps extends ProducingDaemonDeps {
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
  private readonly timers = new Map<Monitor, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private started: Monitor[] = [];
  /** producer → monitors: monitors emit into a running producer, which drains after the last of them stopped */
  private readonly parts: Supervisor;
  private stopping = false;
  /** events monitors produced that failed validation */
  invalidEvents = 0;
  /** the check set pulled from the server (agent.server, agent.subscriptions or agent.puppet configured) */
  readonly checkSet: CheckSetClient | undefined;
  /** the Puppet catalog uploader (agent.puppet configured) */
  readonly puppet: PuppetCatalogSender | undefined;
  private readonly applier: CheckSetApplier | undefined;
  private readonly api: ApiClient | undefined;

  constructor(readonly config: AgentConfig, deps: AgentDeps) {
    this.log = deps.log ?? createLogger('agent');
    this.warn = new RateLimitedLog(this.log);
    const now = deps.now ?? Date.now;
    const metrics = deps.metrics ?? new Registry();
    this.producer = producerFromConfig(config, { dataDir: deps.dataDir, spool: 'agent', producer: config.host, curve: deps.curve, dns: deps.dns, log: this.log, metrics });
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
    if (config.server || config.puppet || config.subscriptions.length > 0) {
      // catalog and check set go to the server's HTTP API directly, even when events go through relays
      this.api = new ApiClient(config.server ?? agentServerSchema.parse({}));
      if (config.puppet) monitors.push(this.puppet = new PuppetCatalogSender(config.puppet, this.api, { metrics, facts: () => gatherFacts(blickVersion()) }));
      const applier = this.applier = new CheckSetApplier(this.dynamicHost(), config.classification, new Set(config.checks.map((c) => c.name)), this.log.child({ part: 'checkset' }), metrics);
      monitors.push(this.checkSet = new CheckSetClient(this.api, {
        file: join(deps.dataDir, 'classification', 'checkset.json'),
        subscriptions: config.subscriptions,
        waitMs: (config.server ?? agentServerSchema.parse({})).wait,
        apply: (set) => applier.apply(set),
        metrics,
      }));
    }
    this.monitors = monitors;
    this.parts = new Supervisor('agent', [this.producer, part('monitors', () => this.startMonitors(), () => this.stopMonitors())], this.log);
  }

  onFailure(listener: FailureListener): void { this.parts.onFailure(listener); }

  async start(): Promise<void> {
    this.stopping = false;
    await this.parts.start();
    this.log.info({ host: this.config.host, upstreams: this.config.upstreams, monitors: this.started.map((m) => m.name) }, 'agent started');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.parts.stop();
    this.api?.close();
    this.log.info('agent stopped');
  }

  /** The context monitors emit through (for embedding and tests). */
  get context(): MonitorContext { return this.ctx; }

  /** What the check-set applier may do to the running agent. */
  private dynamicHost(): ConstructorParameters<typeof CheckSetApplier>[0] {
    let systemd: Promise<SystemdListener> | undefined;
    return {
      ctx: this.ctx,
      addMonitor: (m, ctx) => this.addMonitor(m, ctx),
      removeMonitor: (m) => this.removeMonitor(m),
      systemd: () => systemd ??= (async () => {
        const existing = this.monitors.find((m): m is SystemdListener => m instanceof SystemdListener);
        if (existing) return existing;
        // no systemd section and no systemd at boot: a listener for the classified units only
        const created = new SystemdListener(systemdSchema.parse({ units: [] }));
        await this.addMonitor(created, this.ctx);
        return created;
      })(),
    };
  }

  /** Starts a monitor while the agent runs (a check of the check set); `ctx` is what it emits through. */
  async addMonitor(m: Monitor, ctx: MonitorContext = this.ctx): Promise<void> {
    if (this.stopping) return;
    if (m.kind === 'listener') await m.start(ctx);
    else this.schedule(m, ctx);
    this.started.push(m);
  }

  /** Stops a monitor {@link addMonitor} started. */
  async removeMonitor(m: Monitor): Promise<void> {
    const i = this.started.indexOf(m);
    if (i < 0) return;
    this.started.splice(i, 1);
    const t = this.timers.get(m);
    if (t) clearInterval(t);
    this.timers.delete(m);
    if (m.kind === 'listener') await m.stop();
    else await m.stop?.();
  }

  private async startMonitors(): Promise<void> {
    for (const m of this.monitors) {
      try {
        if (m.kind === 'listener') await m.start(this.ctx);
        else this.schedule(m, this.ctx);
        this.started.push(m);
      } catch (err) {
        // one broken monitor must not keep the others (and the heartbeat) from running
        this.log.error({ monitor: m.name, err }, 'monitor failed to start');
        this.ctx.emit({ service: `blick monitor ${m.name}`, state: 'critical', description: `monitor failed to start: ${(err as Error).message}` });
      }
    }
  }

  private schedule(o: Observer, ctx: MonitorContext): void {
    let busy = false;
    const run = () => {
      if (busy) return; // the previous run is still going: skip, do not pile up
      busy = true;
      const p = Promise.resolve().then(() => o.observe(ctx)).catch((err) => {
        this.warn.warn(`observer:${o.name}`, { observer: o.name, err }, 'observer failed');
      }).finally(() => { busy = false; this.running.delete(p); });
      this.running.add(p);
    };
    run();
    this.timers.set(o, setInterval(run, o.intervalMs));
  }

  private async stopMonitors(): Promise<void> {
    // the check-set client first, so that no set is applied while the rest stop
    if (this.checkSet && this.started.includes(this.checkSet)) {
      await this.checkSet.stop().catch((err) => this.log.warn({ err }, 'check set client did not stop cleanly'));
      this.started.splice(this.started.indexOf(this.checkSet), 1);
    }
    await this.applier?.stop();
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
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
