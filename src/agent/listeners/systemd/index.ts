import { existsSync } from 'node:fs';
import type dbus from 'dbus-next';
import { defineMonitor, type Listener, type MonitorContext, type MonitorEvent } from '../../monitor.js';
import { GlobSet, isGlob } from '../glob.js';
import { systemdSchema, type SystemdConfig } from './schema.js';

export { systemdSchema, type SystemdConfig } from './schema.js';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UNIT = 'org.freedesktop.systemd1.Unit';
const SERVICE = 'org.freedesktop.systemd1.Service';
const PROPS = 'org.freedesktop.DBus.Properties';
const UNIT_PREFIX = '/org/freedesktop/systemd1/unit/';
const SIGNAL = 4;
const CALL_TIMEOUT_MS = 10_000;

/** `/org/freedesktop/systemd1/unit/nginx_2eservice` → `nginx.service` (sd_bus_path_decode). */
export function unitNameFromPath(path: string): string | undefined {
  if (!path.startsWith(UNIT_PREFIX)) return undefined;
  return path.slice(UNIT_PREFIX.length).replace(/_([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** What the listener knows about one unit. */
export interface UnitState {
  name: string;
  path: string;
  activeState: string;
  subState: string;
  loadState: string;
  description: string;
  mainPid?: number | undefined;
  nRestarts?: number | undefined;
  result?: string | undefined;
}

/**
 * The state of a unit for Blick: active/reloading → ok; failed → critical;
 * inactive/deactivating → critical when the unit is expected to run, else ok;
 * activating after a crash (auto-restart) → warning, else ok; a unit expected
 * to run that does not exist → critical. A unit expected to be stopped
 * (`expected: 'stopped'`, Puppet's `ensure => stopped`) is critical while it
 * is active, activating or reloading, else ok.
 */
export function unitCheckState(u: Pick<UnitState, 'activeState' | 'subState' | 'loadState'>, expected: boolean | 'stopped'): 'ok' | 'warning' | 'critical' {
  if (expected === 'stopped') return ['active', 'activating', 'reloading'].includes(u.activeState) ? 'critical' : 'ok';
  switch (u.activeState) {
    case 'active': case 'reloading': return 'ok';
    case 'failed': return 'critical';
    case 'inactive': case 'deactivating':
      return expected ? 'critical' : 'ok';
    case 'activating': return u.subState === 'auto-restart' ? 'warning' : 'ok';
    default: return expected && u.loadState !== 'loaded' ? 'critical' : 'ok';
  }
}

type Bus = dbus.MessageBus;
/** The Service properties an event carries (attributes main_pid, restarts, result). */
const SERVICE_PROPERTIES = ['MainPID', 'NRestarts', 'Result'] as const;
/** Services read at once during a sync. */
const SYNC_CONCURRENCY = 8;
let dbusModule: typeof dbus | undefined;

/** Options of {@link SystemdListener} beyond the configuration. */
export interface SystemdOptions {
  /** first reconnect delay (default 500 ms), doubling up to maxBackoffMs */
  backoffMs?: number;
  /** longest reconnect delay (default 30 s) */
  maxBackoffMs?: number;
}

/**
 * Listens to systemd on the system bus: after `Subscribe`, every change of a
 * unit's ActiveState/SubState arrives as a PropertiesChanged signal and becomes
 * an event `systemd <unit>` at once (no polling). On start and after every
 * reconnect, the current state of every watched unit is emitted.
 *
 * @example new SystemdListener({ units: ['nginx.service', '*.service'] })
 */
export class SystemdListener implements Listener {
  readonly kind = 'listener' as const;
  readonly name = 'systemd';
  private readonly watched: GlobSet;
  private readonly configuredExpected: Set<string>;
  private classifiedExpected = new Set<string>();
  private classifiedStopped = new Set<string>();
  /** attributes the events of classified units carry (derived_from, derived_file, derived_line) */
  private classifiedAttributes = new Map<string, Record<string, string>>();
  private readonly units = new Map<string, UnitState>(); // by object path
  private bus: Bus | undefined;
  private ctx: MonitorContext | undefined;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private generation = 0;
  private readonly address: string;

  constructor(private readonly config: SystemdConfig, private readonly options: SystemdOptions = {}) {
    this.watched = new GlobSet(config.units);
    this.configuredExpected = new Set(config.units.filter((u) => !isGlob(u)));
    this.backoff = options.backoffMs ?? 500;
    this.address = config.bus ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? 'unix:path=/run/dbus/system_bus_socket';
  }

  /** True when the unit must be running (named in the config, or set by classification). */
  isExpected(unit: string): boolean {
    return this.configuredExpected.has(unit) || this.classifiedExpected.has(unit);
  }

  /** True when the unit must not run (set by classification: `ensure => stopped`). */
  isExpectedStopped(unit: string): boolean {
    return this.classifiedStopped.has(unit) && !this.configuredExpected.has(unit);
  }

  /** True when the listener reports the unit: watched by the config, or classified. */
  private reports(unit: string): boolean {
    return this.watched.has(unit) || this.isExpected(unit) || this.classifiedStopped.has(unit);
  }

  /**
   * Units that must be running as the server's classification says (e.g. Puppet's
   * `Service[x] { ensure => running }`), beside those named in the config.
   * Replaces the previous set; units whose state changes by this are re-emitted.
   */
  async setExpectedUnits(units: Iterable<string>): Promise<void> {
    await this.setClassifiedUnits({ running: new Map([...units].map((u) => [u, {}])), stopped: new Map() });
  }

  /**
   * The classified units: those that must run and those that must not, each
   * with the attributes its events carry (`derived_from: Service[demo]`…).
   * Replaces the previous sets. A unit that leaves them and that the config
   * does not watch gets one ok event "no longer in the desired state" and is
   * forgotten; one the config watches is re-emitted as it is.
   */
  async setClassifiedUnits(sets: { running: Map<string, Record<string, string>>; stopped: Map<string, Record<string, string>> }): Promise<void> {
    const unitName = (u: string) => (u.includes('.') ? u : `${u}.service`);
    const before = new Set([...this.classifiedExpected, ...this.classifiedStopped]);
    const beforeAttributes = this.classifiedAttributes;
    this.classifiedExpected = new Set([...sets.running.keys()].map(unitName));
    this.classifiedStopped = new Set([...sets.stopped.keys()].map(unitName).filter((u) => !this.classifiedExpected.has(u)));
    this.classifiedAttributes = new Map();
    for (const [u, a] of [...sets.stopped, ...sets.running]) this.classifiedAttributes.set(unitName(u), a);
    const now = new Set([...this.classifiedExpected, ...this.classifiedStopped]);
    const bus = this.bus;
    for (const name of new Set([...before, ...now])) {
      const u = [...this.units.values()].find((x) => x.name === name);
      if (!now.has(name) && !this.reports(name)) {
        if (u) this.units.delete(u.path);
        this.ctx?.emit({
          service: `systemd ${name}`, state: 'ok', description: `${name} is no longer in the desired state`,
          attributes: { unit: name, removed: 'true', ...beforeAttributes.get(name) }, time: this.ctx.now(),
        });
        continue;
      }
      if (u) { this.emit(u); continue; }
      if (bus && now.has(name)) await this.loadAndEmit(bus, name, this.generation).catch(() => {});
    }
  }

  async start(ctx: MonitorContext): Promise<void> {
    this.ctx = ctx;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropBus();
  }

  /** The units known now (for tests and the agent's status). */
  snapshot(): UnitState[] {
    return [...this.units.values()];
  }

  private dropBus(): void {
    const bus = this.bus;
    this.bus = undefined;
    this.generation++;
    if (bus) {
      bus.removeAllListeners();
      bus.on('error', () => {});
      try { bus.disconnect(); } catch { /* already closed */ }
    }
  }

  private scheduleReconnect(why: unknown): void {
    if (this.stopped || this.reconnectTimer) return;
    this.dropBus();
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs ?? 30_000);
    this.ctx?.log.warn({ err: why instanceof Error ? why.message : String(why), address: this.address, retryMs: delay }, 'systemd: the system bus is gone; reconnecting');
    this.reconnectTimer = setTimeout(() => { this.reconnectTimer = undefined; void this.connect(); }, delay);
    this.reconnectTimer.unref();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    let bus: Bus;
    try {
      // loaded on first use: hosts without systemd do not load the D-Bus library
      dbusModule ??= (await import('dbus-next')).default;
      if (gen !== this.generation || this.stopped) return;
      bus = dbusModule.sessionBus({ busAddress: this.address });
    } catch (err) { this.scheduleReconnect(err); return; }
    this.bus = bus;
    bus.on('error', (err) => { if (gen === this.generation) this.scheduleReconnect(err); });
    const stream = (bus as unknown as { _connection?: { stream?: NodeJS.EventEmitter } })._connection?.stream;
    // dbus-next reports a closed connection only as the stream's end (no error, no close)
    for (const ev of ['end', 'close']) stream?.on(ev, () => { if (gen === this.generation) this.scheduleReconnect(new Error(`connection ${ev}`)); });
    bus.on('message', (msg: dbus.Message) => { if (gen === this.generation && msg.type === SIGNAL) this.onSignal(bus, msg, gen); });
    try {
      await this.call(bus, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's',
        [`type='signal',sender='${SYSTEMD}',interface='${PROPS}',member='PropertiesChanged',path_namespace='/org/freedesktop/systemd1/unit'`]);
      await this.call(bus, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's',
        [`type='signal',sender='${SYSTEMD}',interface='${MANAGER}',path='${MANAGER_PATH}'`]);
      await this.call(bus, SYSTEMD, MANAGER_PATH, MANAGER, 'Subscribe', '', []);
      await this.sync(bus, gen);
      if (gen !== this.generation) return;
      this.backoff = this.options.backoffMs ?? 500;
      this.ctx?.log.info({ address: this.address, units: this.units.size }, 'systemd: listening');
    } catch (err) {
      if (gen === this.generation) this.scheduleReconnect(err);
    }
  }

  private call(bus: Bus, destination: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<dbus.Message> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`D-Bus call ${member} timed out`)), CALL_TIMEOUT_MS);
      t.unref();
      bus.call(new dbusModule!.Message({ destination, path, interface: iface, member, signature, body }))
        .then((reply) => { clearTimeout(t); reply ? resolve(reply) : reject(new Error(`no reply to ${member}`)); }, (err) => { clearTimeout(t); reject(err); });
    });
  }

  /** Reads every watched unit's state and emits it. */
  private async sync(bus: Bus, gen: number): Promise<void> {
    const reply = await this.call(bus, SYSTEMD, MANAGER_PATH, MANAGER, 'ListUnits', '', []);
    const rows = reply.body[0] as [string, string, string, string, string, string, string, number, string, string][];
    this.units.clear();
    const found = new Set<string>();
    for (const [name, description, loadState, activeState, subState, , path] of rows) {
      if (!this.reports(name)) continue;
      found.add(name);
      this.units.set(path, { name, path, description, loadState, activeState, subState });
    }
    // a few services at a time: replies are not all held at once on a host with hundreds of units
    const services = [...this.units.values()].filter((u) => u.name.endsWith('.service'));
    const lanes = Array.from({ length: Math.min(SYNC_CONCURRENCY, services.length) }, async () => {
      for (let u = services.pop(); u; u = services.pop()) await this.readService(bus, u).catch(() => {});
    });
    await Promise.all(lanes);
    if (gen !== this.generation) return;
    for (const u of this.units.values()) this.emit(u);
    // units that must run but systemd has not loaded (never started, or not installed)
    for (const name of [...this.configuredExpected, ...this.classifiedExpected, ...this.classifiedStopped]) {
      if (!found.has(name)) await this.loadAndEmit(bus, name, gen).catch((err) => this.ctx?.log.warn({ err: (err as Error).message, unit: name }, 'systemd: cannot load unit'));
    }
  }

  private async loadAndEmit(bus: Bus, name: string, gen: number): Promise<void> {
    const r = await this.call(bus, SYSTEMD, MANAGER_PATH, MANAGER, 'LoadUnit', 's', [name]);
    const path = r.body[0] as string;
    const props = await this.call(bus, SYSTEMD, path, PROPS, 'GetAll', 's', [UNIT]);
    const p = props.body[0] as Record<string, dbus.Variant>;
    const u: UnitState = {
      name, path,
      activeState: String(p.ActiveState?.value ?? 'unknown'), subState: String(p.SubState?.value ?? 'unknown'),
      loadState: String(p.LoadState?.value ?? 'unknown'), description: String(p.Description?.value ?? ''),
    };
    if (name.endsWith('.service') && u.loadState === 'loaded') await this.readService(bus, u).catch(() => {});
    if (gen !== this.generation) return;
    this.units.set(path, u);
    this.emit(u);
  }

  /**
   * Reads the three Service properties the events carry, one `Get` each: a
   * `GetAll` reply holds ~100 properties (command lines, limits…), and parsing
   * those for every service at start-up is most of the agent's start-up garbage.
   */
  private async readService(bus: Bus, u: UnitState): Promise<void> {
    const props: Record<string, dbus.Variant> = {};
    await Promise.all(SERVICE_PROPERTIES.map(async (name) => {
      try {
        props[name] = (await this.call(bus, SYSTEMD, u.path, PROPS, 'Get', 'ss', [SERVICE, name])).body[0] as dbus.Variant;
      } catch { /* an older systemd without NRestarts, or the unit went away */ }
    }));
    this.applyService(u, props);
  }

  private applyService(u: UnitState, p: Record<string, dbus.Variant>): void {
    if (p.MainPID !== undefined) u.mainPid = Number(p.MainPID.value);
    if (p.NRestarts !== undefined) u.nRestarts = Number(p.NRestarts.value);
    if (p.Result !== undefined) u.result = String(p.Result.value);
  }

  private onSignal(bus: Bus, msg: dbus.Message, gen: number): void {
    if (msg.interface === PROPS && msg.member === 'PropertiesChanged') {
      const [iface, changed] = msg.body as [string, Record<string, dbus.Variant>, string[]];
      let u = this.units.get(msg.path);
      if (!u) {
        const name = unitNameFromPath(msg.path);
        if (!name || !this.reports(name)) return;
        u = { name, path: msg.path, activeState: 'unknown', subState: 'unknown', loadState: 'loaded', description: '' };
        this.units.set(msg.path, u);
        if (name.endsWith('.service') && iface === UNIT) void this.readService(bus, u).catch(() => {});
      }
      if (iface === SERVICE) { this.applyService(u, changed); return; }
      if (iface !== UNIT) return;
      const active = changed.ActiveState?.value as string | undefined;
      const sub = changed.SubState?.value as string | undefined;
      if (changed.LoadState) u.loadState = String(changed.LoadState.value);
      if (changed.Description) u.description = String(changed.Description.value);
      if ((active === undefined || active === u.activeState) && (sub === undefined || sub === u.subState)) return;
      if (active !== undefined) u.activeState = active;
      if (sub !== undefined) u.subState = sub;
      this.emit(u);
      return;
    }
    if (msg.interface === MANAGER && msg.member === 'UnitRemoved') {
      const [, path] = msg.body as [string, string];
      // an inactive unit that systemd unloaded; a unit that must run keeps its last state
      const u = this.units.get(path);
      if (u && !this.isExpected(u.name) && !this.classifiedStopped.has(u.name)) this.units.delete(path);
    } else if (msg.interface === MANAGER && msg.member === 'Reloading' && msg.body[0] === false && gen === this.generation) {
      // after daemon-reload, units may have appeared or been removed: read them again
      void this.sync(bus, gen).catch((err) => this.scheduleReconnect(err));
    }
  }

  private emit(u: UnitState): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const stopped = this.isExpectedStopped(u.name);
    const expected = this.isExpected(u.name);
    const state = unitCheckState(u, stopped ? 'stopped' : expected);
    const attributes: Record<string, string> = {
      unit: u.name, active_state: u.activeState, sub_state: u.subState, load_state: u.loadState, expected: stopped ? 'stopped' : String(expected),
      ...this.classifiedAttributes.get(u.name),
    };
    if (u.mainPid !== undefined) attributes.main_pid = String(u.mainPid);
    if (u.nRestarts !== undefined) attributes.restarts = String(u.nRestarts);
    if (u.result !== undefined) attributes.result = u.result;
    if (u.description) attributes.description = u.description.slice(0, 1024);
    let description = `${u.name} ${u.activeState} (${u.subState})`;
    if (u.result && u.result !== 'success') description += `, result ${u.result}`;
    if (u.loadState === 'not-found') description = `${u.name} does not exist (load state not-found)`;
    else if (state === 'critical' && stopped) description += ', but it is expected to be stopped';
    else if (state === 'critical' && expected && u.activeState !== 'failed') description += ', but it is expected to run';
    if (state !== 'ok' && attributes.derived_from) description += ` (${attributes.derived_from}${attributes.derived_file ? ` at ${attributes.derived_file}${attributes.derived_line ? `:${attributes.derived_line}` : ''}` : ''})`;
    const event: MonitorEvent = { service: `systemd ${u.name}`, state, description, attributes, time: ctx.now() };
    ctx.emit(event);
  }
}

/** True when the host was booted with systemd (sd_booted()). */
export function systemdBooted(): boolean {
  return existsSync('/run/systemd/system');
}

/** `agent.systemd: { units: […] }`; when absent, runs with defaults on hosts booted with systemd. */
export const systemdMonitor = defineMonitor({
  key: 'systemd',
  schema: systemdSchema,
  create(config) {
    if (config) return [new SystemdListener(config)];
    return systemdBooted() || process.env.DBUS_SYSTEM_BUS_ADDRESS ? [new SystemdListener(systemdSchema.parse({}))] : [];
  },
});
