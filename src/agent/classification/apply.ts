import { RateLimitedLog, type Logger } from '../../core/log.js';
import type { Counter, Registry } from '../../core/metrics.js';
import type { DerivedCheck } from '../../server/classification/types.js';
import { NagiosCheck } from '../checks/index.js';
import type { SystemdListener } from '../listeners/systemd/index.js';
import type { Monitor, MonitorContext } from '../monitor.js';
import type { CheckSet, ServerCheck } from './checkset.js';
import { DerivedFileWatch, DerivedMount, DerivedPackage, derivedAttributes, withAttributes } from './derived.js';
import type { AgentClassificationConfig } from './schema.js';

/** What the applier needs of the agent: start and stop monitors at run time, and its systemd listener. */
export interface ApplyHost {
  readonly ctx: MonitorContext;
  addMonitor(m: Monitor, ctx: MonitorContext): Promise<void>;
  removeMonitor(m: Monitor): Promise<void>;
  /** the agent's systemd listener, created (and started) when the config has none */
  systemd(): Promise<SystemdListener>;
}

interface Running { fingerprint: string; service: string; monitor?: Monitor }

/**
 * Applies a check set to the running agent without a restart: `server.checks`
 * entries run as Nagios plugin checks beside the local `agent.checks` (a local
 * check of the same name wins); derived checks become what watches them (the
 * systemd listener's expected-running and expected-stopped units, a disk
 * observation, a file watch, a package query when `packages` is on). What left
 * the set stops, and its service gets one ok event "no longer in the desired
 * state" so that nothing it said stays critical.
 */
export class CheckSetApplier {
  private readonly running = new Map<string, Running>();
  private readonly warn: RateLimitedLog;
  private readonly dropped: Counter | undefined;
  private applying: Promise<void> = Promise.resolve();
  private hadUnits = false;

  constructor(private readonly host: ApplyHost, private readonly config: AgentClassificationConfig, private readonly localChecks: Set<string>, private readonly log: Logger, metrics?: Registry) {
    this.warn = new RateLimitedLog(log);
    this.dropped = metrics?.counter('blick_agent_checkset_dropped_total', 'Checks of a check set the agent did not run (reason: local = a local check has the name, limit = beyond agent.classification.max_checks, packages = package checks are off)');
  }

  /** The keys of what runs now (tests). */
  get active(): string[] { return [...this.running.keys()]; }

  /** Applies `set` after any apply still going (sets are applied in order). */
  apply(set: CheckSet): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow(set)).catch((err) => { this.log.error({ err }, 'check set: applying it failed'); });
    return this.applying;
  }

  /** Stops what the set started (the agent is stopping: no removal events). */
  async stop(): Promise<void> {
    await this.applying;
    for (const r of this.running.values()) if (r.monitor) await this.host.removeMonitor(r.monitor).catch(() => {});
    this.running.clear();
  }

  private async applyNow(set: CheckSet): Promise<void> {
    const want = new Map<string, { fingerprint: string; service: string; make?: () => { monitor: Monitor; ctx: MonitorContext } }>();
    const clashes: string[] = [];
    let over = 0;
    const add = (key: string, v: { fingerprint: string; service: string; make?: () => { monitor: Monitor; ctx: MonitorContext } }) => {
      if (want.has(key)) return;
      if (want.size >= this.config.max_checks) { over++; return; }
      want.set(key, v);
    };
    for (const c of set.checks) {
      if (this.localChecks.has(c.name)) { clashes.push(c.name); continue; }
      add(`check ${c.name}`, { fingerprint: JSON.stringify(c), service: c.name, make: () => this.serverCheck(c) });
    }
    const running = new Map<string, Record<string, string>>();
    const stopped = new Map<string, Record<string, string>>();
    let packagesOff = 0;
    for (const d of set.derived) {
      const key = `${d.kind} ${d.target}`;
      const fingerprint = JSON.stringify(d);
      switch (d.kind) {
        case 'service-running': running.set(d.target, derivedAttributes(d)); add(key, { fingerprint, service: d.service }); break;
        case 'service-stopped': stopped.set(d.target, derivedAttributes(d)); add(key, { fingerprint, service: d.service }); break;
        case 'file': add(key, { fingerprint, service: d.service, make: () => this.derived(d, new DerivedFileWatch(d)) }); break;
        case 'mount': add(key, { fingerprint, service: d.service, make: () => this.derived(d, new DerivedMount(d, this.config.interval)) }); break;
        case 'package':
          if (!this.config.packages) { packagesOff++; break; }
          add(key, { fingerprint, service: d.service, make: () => this.derived(d, new DerivedPackage(d, this.config.interval)) });
          break;
      }
    }
    if (clashes.length > 0) {
      this.dropped?.inc(clashes.length, { reason: 'local' });
      this.warn.warn('checkset:clash', { checks: clashes.slice(0, 20) }, 'check set: a local check of the same name runs instead of the server\'s');
    }
    if (over > 0) {
      this.dropped?.inc(over, { reason: 'limit' });
      this.warn.warn('checkset:limit', { dropped: over, max: this.config.max_checks }, 'check set: more checks than agent.classification.max_checks; the rest do not run');
    }
    if (packagesOff > 0) this.dropped?.inc(packagesOff, { reason: 'packages' });

    // stop what left the set (or changed: it starts again below with its new settings)
    for (const [key, r] of [...this.running]) {
      const w = want.get(key);
      if (w?.fingerprint === r.fingerprint) continue;
      this.running.delete(key);
      if (r.monitor) await this.host.removeMonitor(r.monitor).catch((err) => this.log.warn({ err, key }, 'check set: a monitor did not stop cleanly'));
      const isUnit = key.startsWith('service-');
      // the systemd listener sends its own removal for units (below); nothing is sent for a check that merely changed
      if (!w && !isUnit) {
        this.host.ctx.emit({ service: r.service, state: 'ok', description: 'no longer in the desired state', attributes: { removed: 'true' }, time: this.host.ctx.now() });
      }
    }
    if (running.size > 0 || stopped.size > 0 || this.hadUnits) {
      const systemd = await this.host.systemd();
      await systemd.setClassifiedUnits({ running, stopped });
      this.hadUnits = running.size > 0 || stopped.size > 0;
    }
    for (const [key, w] of want) {
      if (this.running.has(key)) continue;
      const r: Running = { fingerprint: w.fingerprint, service: w.service };
      if (w.make) {
        const { monitor, ctx } = w.make();
        try { await this.host.addMonitor(monitor, ctx); r.monitor = monitor; } catch (err) {
          this.warn.warn(`checkset:start:${key}`, { key, err: (err as Error).message }, 'check set: a check failed to start');
        }
      }
      this.running.set(key, r);
    }
  }

  private serverCheck(c: ServerCheck): { monitor: Monitor; ctx: MonitorContext } {
    const { origin, ...config } = c;
    const attrs: Record<string, string> = { check_source: origin?.source ?? 'server.checks' };
    if (origin?.subscription) attrs.subscription = origin.subscription;
    return { monitor: new NagiosCheck(config), ctx: withAttributes(this.host.ctx, attrs) };
  }

  private derived(_d: DerivedCheck, monitor: Monitor): { monitor: Monitor; ctx: MonitorContext } {
    return { monitor, ctx: this.host.ctx };
  }
}
