import snmp from 'net-snmp';
import type { EventInput, State } from '../../../core/event.js';
import { anyGlob, type Matcher } from '../../../core/glob.js';
import type { DeviceConfig, OidConfig } from './config.js';
import { counterDelta, counterValue, displayValue, isMissing, numericValue, perSecond, restarted, SnmpType, textValue, type CounterBits, type Varbind } from './counters.js';
import { failureKind, type RequestFailure, type SnmpSession } from './session.js';

/** sysUpTime.0 */
export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
const IF_TABLE = '1.3.6.1.2.1.2.2.1';
const IF_X_TABLE = '1.3.6.1.2.1.31.1.1.1';
/** ifIndex: walked to learn which interfaces exist */
export const IF_INDEX = `${IF_TABLE}.1`;

/** The interface columns read per interface; `v2` ones need SNMPv2c or v3 (ifXTable, Counter64). */
export const IF_COLUMNS = {
  ifDescr: { oid: `${IF_TABLE}.2`, v2: false },
  ifSpeed: { oid: `${IF_TABLE}.5`, v2: false },
  ifAdminStatus: { oid: `${IF_TABLE}.7`, v2: false },
  ifOperStatus: { oid: `${IF_TABLE}.8`, v2: false },
  ifInOctets: { oid: `${IF_TABLE}.10`, v2: false },
  ifInErrors: { oid: `${IF_TABLE}.14`, v2: false },
  ifOutOctets: { oid: `${IF_TABLE}.16`, v2: false },
  ifOutErrors: { oid: `${IF_TABLE}.20`, v2: false },
  ifName: { oid: `${IF_X_TABLE}.1`, v2: true },
  ifHCInOctets: { oid: `${IF_X_TABLE}.6`, v2: true },
  ifHCOutOctets: { oid: `${IF_X_TABLE}.10`, v2: true },
  ifHighSpeed: { oid: `${IF_X_TABLE}.15`, v2: true },
} as const;
type IfColumn = keyof typeof IF_COLUMNS;

/** ifOperStatus (RFC 2863) → name */
const OPER_STATUS = ['', 'up', 'down', 'testing', 'unknown', 'dormant', 'notPresent', 'lowerLayerDown'];
const ADMIN_STATUS = ['', 'up', 'down', 'testing'];

/** varbinds per GET: a few interfaces' columns, well under a 1472-byte answer for short names */
const GET_CHUNK = 36;
/** an interface name in a service is cut to this (a device's ifDescr can be long) */
const MAX_NAME = 128;

/** How one poll of a device went, for blick_snmp_polls_total. */
export type PollOutcome = 'ok' | RequestFailure;

/** What a device poll reports beside its events (counted by the poller). */
export interface DeviceHooks {
  emit(event: EventInput): void;
  now(): number;
  /** a value that could not be used: an OID without a number, a counter that is not one */
  badValue(reason: 'not_numeric' | 'missing' | 'not_counter', detail: Record<string, unknown>): void;
  /** the device has more interfaces than max_interfaces */
  interfacesOverLimit(read: number): void;
}

interface CounterReading { value: bigint; bits: CounterBits }
interface InterfaceBase { name: string; at: number; in?: CounterReading; out?: CounterReading; inErrors?: CounterReading; outErrors?: CounterReading }

/** Which step a failure happened in: the first answer tells whether the device is there at all. */
class StepError extends Error {
  constructor(readonly step: string, override readonly cause: unknown) { super(`${step}: ${(cause as Error)?.message ?? String(cause)}`); }
}

/**
 * The state and the poll of one device: what was read last time (uptime and
 * counters, with the time of the answer), so that each poll can report rates
 * and restarts. One poll at a time per device (the poller guarantees it).
 */
export class DevicePoll {
  private uptime: { ticks: number; at: number } | undefined;
  /** interfaces by ifIndex, as of the last answer (at most max_interfaces) */
  private readonly ifBase = new Map<number, InterfaceBase>();
  /** counter OIDs (`rate: true`) as of the last answer */
  private readonly oidBase = new Map<string, { reading: CounterReading; at: number }>();
  /** a restart was reported: the next good poll says ok on `snmp restart` once */
  private restartRaised = false;
  private readonly ignore: Matcher | undefined;

  constructor(readonly config: DeviceConfig, private readonly hooks: DeviceHooks) {
    this.ignore = config.ignore_interfaces.length > 0 ? anyGlob(config.ignore_interfaces) : undefined;
  }

  /** An event about this device (its host; source and time are the relay's to set). */
  private event(service: string, fields: Omit<EventInput, 'host' | 'service'>): void {
    this.hooks.emit({ host: this.config.host, service, ...fields });
  }

  private get target(): string {
    const a = this.config.address;
    return a.includes(':') && !a.startsWith('[') ? `[${a}]:${this.config.port}` : `${a}:${this.config.port}`;
  }

  /** One poll: uptime first (does the device answer?), then the OIDs, then the interfaces. */
  async poll(session: SnmpSession): Promise<PollOutcome> {
    const t0 = this.hooks.now();
    const reach = { address: this.target, version: this.config.version };
    // the server expires the check when polls stop arriving (the relay is gone)
    const ttl = Math.ceil((3 * this.config.interval) / 1000);
    let answeredAt: number | undefined;
    try {
      const [up] = await step('sysUpTime', session.get([SYS_UPTIME]));
      answeredAt = this.hooks.now();
      this.readUptime(up, answeredAt);
      // the OIDs and the interfaces are read apart: a failure of one (an OID a v1 agent refuses) does
      // not cost the other; a timeout or refused credentials mean the device is gone and end the poll
      let failed: StepError | undefined;
      const parts: [string, boolean, () => Promise<void>][] = [
        ['oids', this.config.oids.length > 0, () => this.readOids(session)],
        ['interfaces', this.config.interfaces, () => this.readInterfaces(session)],
      ];
      for (const [name, wanted, read] of parts) {
        if (!wanted) continue;
        try {
          await read();
        } catch (err) {
          if (failureKind(err) !== 'error') throw new StepError(name, err);
          failed ??= new StepError(name, err);
        }
      }
      if (failed) throw failed;
      this.event('snmp', { state: 'ok', metric: answeredAt - t0, description: `answered in ${answeredAt - t0} ms`, attributes: { ...reach, unit: 'ms' }, ttl });
      return 'ok';
    } catch (err) {
      const e = err instanceof StepError ? err : new StepError('poll', err);
      const kind = failureKind(e.cause);
      let state: State = 'critical';
      let description: string;
      if (kind === 'timeout') {
        description = `no answer from ${this.target} (SNMP v${this.config.version}, timeout ${this.config.timeout} ms, ${this.config.retries} retries${answeredAt === undefined ? '' : `, while reading ${e.step}`})`;
      } else if (kind === 'auth') {
        description = `${this.target} refused the credentials: ${(e.cause as Error).message} (check the v3 user, its keys and protocols)`;
      } else if (answeredAt === undefined) {
        description = `cannot poll ${this.target}: ${(e.cause as Error)?.message ?? String(e.cause)}`;
      } else {
        // it answers, but part of what it was asked for failed: the device is there
        state = 'warning';
        description = `${this.target} answered, but reading ${e.step} failed: ${(e.cause as Error)?.message ?? String(e.cause)}`;
      }
      this.event('snmp', { state, description, attributes: { ...reach, error: kind }, ttl });
      return kind;
    }
  }

  private readUptime(vb: Varbind | undefined, at: number): void {
    if (!vb || vb.type !== SnmpType.TimeTicks || typeof vb.value !== 'number') {
      if (vb) this.hooks.badValue(vb && isMissing(vb) ? 'missing' : 'not_numeric', { host: this.config.host, oid: SYS_UPTIME, value: vb ? displayValue(vb) : undefined });
      return;
    }
    const ticks = vb.value;
    this.event('snmp uptime', { metric: ticks / 100, description: `up ${formatUptime(ticks / 100)}`, attributes: { unit: 's' } });
    const prev = this.uptime;
    this.uptime = { ticks, at };
    if (!prev) return;
    if (restarted(prev.ticks, ticks, at - prev.at)) {
      this.restartRaised = true;
      // counters started again from zero: rates resume from the next poll
      this.ifBase.clear();
      this.oidBase.clear();
      this.event('snmp restart', {
        state: 'warning',
        description: `the device restarted: sysUpTime went from ${prev.ticks / 100} s to ${ticks / 100} s (back to ok at the next poll)`,
        attributes: { previous_uptime: String(prev.ticks / 100), uptime: String(ticks / 100) },
      });
    } else if (this.restartRaised) {
      this.restartRaised = false;
      this.event('snmp restart', { state: 'ok', description: 'no restart since the last poll' });
    }
  }

  private async readOids(session: SnmpSession): Promise<void> {
    const oids = this.config.oids;
    const vbs = await getMany(session, oids.map((o) => o.oid));
    const at = this.hooks.now();
    oids.forEach((o, i) => this.readOid(o, vbs[i], at));
  }

  private readOid(o: OidConfig, vb: Varbind | undefined, at: number): void {
    const thresholds = o.warning !== undefined || o.critical !== undefined;
    const attributes: Record<string, string> = { oid: o.oid, ...(o.unit ? { unit: o.unit } : {}) };
    if (!vb || isMissing(vb)) {
      this.hooks.badValue('missing', { host: this.config.host, oid: o.oid });
      this.event(o.service, { state: 'unknown', description: `the device has no value at ${o.oid}${vb ? ` (${displayValue(vb)})` : ''}`, attributes });
      return;
    }
    let value: number | undefined;
    if (o.rate) {
      const c = counterValue(vb);
      if (!c) {
        this.hooks.badValue('not_counter', { host: this.config.host, oid: o.oid, value: displayValue(vb) });
        this.event(o.service, { state: 'unknown', description: `${o.oid} is not a counter (${displayValue(vb)}), but rate: true asks for one`, attributes });
        return;
      }
      const base = this.oidBase.get(o.oid);
      this.oidBase.set(o.oid, { reading: c, at });
      if (!base || base.reading.bits !== c.bits) return; // the first reading is only the base of the next rate
      const delta = counterDelta(base.reading.value, c.value, c.bits);
      value = delta === undefined ? undefined : perSecond(delta, at - base.at);
      if (value === undefined) return; // a reset: the next poll has a rate again
    } else {
      value = numericValue(vb);
    }
    if (value === undefined) {
      if (thresholds) {
        this.hooks.badValue('not_numeric', { host: this.config.host, oid: o.oid, value: displayValue(vb) });
        this.event(o.service, { state: 'unknown', description: `${o.oid} is not a number: ${displayValue(vb).slice(0, 200)}`, attributes });
      } else {
        this.event(o.service, { description: displayValue(vb).slice(0, 1024), attributes });
      }
      return;
    }
    const metric = value * o.scale;
    const state = thresholds ? thresholdState(metric, o) : undefined;
    this.event(o.service, { metric, ...(state ? { state } : {}), description: `${o.oid} = ${round(metric)}${o.unit ? ` ${o.unit}` : ''}`, attributes });
  }

  private async readInterfaces(session: SnmpSession): Promise<void> {
    const max = this.config.max_interfaces;
    const walked = await session.walk(IF_INDEX, max);
    const indexes: number[] = [];
    for (const vb of walked.varbinds) {
      if (!vb.oid.startsWith(IF_INDEX + '.')) continue;
      const index = Number(vb.oid.slice(IF_INDEX.length + 1));
      if (Number.isInteger(index) && index > 0) indexes.push(index);
    }
    if (walked.more) this.hooks.interfacesOverLimit(indexes.length);
    const v2 = this.config.version !== '1';
    const columns = (Object.keys(IF_COLUMNS) as IfColumn[]).filter((c) => v2 || !IF_COLUMNS[c].v2);
    const vbs = await getMany(session, indexes.flatMap((i) => columns.map((c) => `${IF_COLUMNS[c].oid}.${i}`)));
    const at = this.hooks.now();
    const seen = new Set<number>();
    indexes.forEach((index, n) => {
      const row = {} as Partial<Record<IfColumn, Varbind>>;
      columns.forEach((c, k) => {
        const vb = vbs[n * columns.length + k];
        if (vb && !isMissing(vb)) row[c] = vb;
      });
      seen.add(index);
      this.readInterface(index, row, at);
    });
    for (const index of this.ifBase.keys()) if (!seen.has(index)) this.ifBase.delete(index);
  }

  private readInterface(index: number, row: Partial<Record<IfColumn, Varbind>>, at: number): void {
    const ifName = row.ifName && textValue(row.ifName);
    const ifDescr = row.ifDescr && textValue(row.ifDescr);
    const name = (ifName || ifDescr || String(index)).slice(0, MAX_NAME);
    if (this.ignore?.(name)) return;
    const id = this.config.link_service === 'name' ? name : String(index);
    const oper = row.ifOperStatus ? numericValue(row.ifOperStatus) : undefined;
    const admin = row.ifAdminStatus ? numericValue(row.ifAdminStatus) : undefined;
    const attributes: Record<string, string> = { ifIndex: String(index), ifName: name };
    if (ifDescr) attributes.ifDescr = ifDescr.slice(0, 1024);
    if (oper !== undefined) attributes.ifOperStatus = OPER_STATUS[oper] ?? String(oper);
    if (admin !== undefined) attributes.ifAdminStatus = ADMIN_STATUS[admin] ?? String(admin);
    // ifHighSpeed is in Mbit/s and right beyond 4.29 Gbit/s, where ifSpeed saturates
    const high = row.ifHighSpeed ? numericValue(row.ifHighSpeed) : undefined;
    const speed = high && high > 0 ? high * 1e6 : row.ifSpeed ? numericValue(row.ifSpeed) : undefined;
    if (speed && speed > 0) attributes.speed = String(speed);
    if (oper !== undefined) {
      const { state, why } = linkState(oper, admin);
      this.event(`link ${id}`, { state, description: `${name} is ${why}`, attributes });
    }

    const counter = (vb: Varbind | undefined): CounterReading | undefined => (vb ? counterValue(vb) : undefined);
    const cur: InterfaceBase = {
      name, at,
      in: counter(row.ifHCInOctets) ?? counter(row.ifInOctets),
      out: counter(row.ifHCOutOctets) ?? counter(row.ifOutOctets),
      inErrors: counter(row.ifInErrors),
      outErrors: counter(row.ifOutErrors),
    };
    const base = this.ifBase.get(index);
    this.ifBase.set(index, cur);
    // a new interface, or another one behind the same ifIndex (renumbered): only a base
    if (!base || base.name !== name) return;
    const elapsed = at - base.at;
    // a 32-bit octet counter that went back by more than the link could carry was reset, not wrapped
    const bound = speed && speed > 0 ? Math.ceil((speed / 8) * (elapsed / 1000) * 1.5) + 1 : NaN;
    const maxOctets = Number.isSafeInteger(bound) ? BigInt(bound) : undefined;
    const rate = (service: string, a: CounterReading | undefined, b: CounterReading | undefined, scale: number, unit: string, maxDelta?: bigint): void => {
      if (!a || !b || a.bits !== b.bits) return;
      const delta = counterDelta(a.value, b.value, b.bits, maxDelta === undefined ? {} : { maxDelta });
      const perSec = delta === undefined ? undefined : perSecond(delta, elapsed);
      if (perSec === undefined) return;
      this.event(`link ${id} ${service}`, { metric: perSec * scale, attributes: { ifIndex: attributes.ifIndex!, ifName: name, unit } });
    };
    rate('in_bps', base.in, cur.in, 8, 'bits/s', maxOctets);
    rate('out_bps', base.out, cur.out, 8, 'bits/s', maxOctets);
    rate('in_errors', base.inErrors, cur.inErrors, 1, 'errors/s');
    rate('out_errors', base.outErrors, cur.outErrors, 1, 'errors/s');
  }
}

/** ifOperStatus/ifAdminStatus → the check's state: an interface switched off on purpose is ok. */
export function linkState(oper: number, admin: number | undefined): { state: State; why: string } {
  if (admin === 2) return { state: 'ok', why: 'administratively down' };
  switch (oper) {
    case 1: return { state: 'ok', why: 'up' };
    case 5: return { state: 'ok', why: 'dormant' };
    case 2: return { state: 'critical', why: 'down' };
    case 7: return { state: 'critical', why: 'down (lower layer down)' };
    case 6: return { state: 'warning', why: 'not present' };
    case 3: return { state: 'warning', why: 'testing' };
    default: return { state: 'unknown', why: `in an unknown state (${oper})` };
  }
}

/** warning/critical above (or with `below`, under) the thresholds; ok otherwise. */
export function thresholdState(v: number, o: Pick<OidConfig, 'warning' | 'critical' | 'below'>): State {
  const beyond = (t: number | undefined): boolean => t !== undefined && (o.below ? v < t : v > t);
  if (beyond(o.critical)) return 'critical';
  if (beyond(o.warning)) return 'warning';
  return 'ok';
}

/** Tags a request's failure with the step it belongs to. */
async function step<T>(name: string, p: Promise<T>): Promise<T> {
  try { return await p; } catch (err) { throw err instanceof StepError ? err : new StepError(name, err); }
}

/**
 * GET many OIDs in chunks of GET_CHUNK; an agent that answers tooBig gets
 * smaller chunks (down to one OID) instead of failing the poll.
 */
export async function getMany(session: SnmpSession, oids: string[], chunk = GET_CHUNK): Promise<Varbind[]> {
  const out: Varbind[] = [];
  for (let i = 0; i < oids.length; i += chunk) {
    const part = oids.slice(i, i + chunk);
    try {
      out.push(...await session.get(part));
    } catch (err) {
      const status = err instanceof snmp.RequestFailedError ? (err as { status?: number }).status : undefined;
      if (status === snmp.ErrorStatus.TooBig && part.length > 1) {
        out.push(...await getMany(session, part, Math.max(1, Math.floor(part.length / 2))));
      } else if (status === snmp.ErrorStatus.NoSuchName) {
        // SNMPv1 fails the whole request for one missing OID: ask one by one, the missing one as noSuchObject
        if (part.length === 1) out.push({ oid: part[0]!, type: SnmpType.NoSuchObject, value: null });
        else out.push(...await getMany(session, part, 1));
      } else {
        throw err;
      }
    }
  }
  return out;
}

function round(n: number): string { return Number.isInteger(n) ? String(n) : n.toFixed(2); }

/** 93784 → "1d 2h 3m" */
export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${Math.floor(seconds % 60)}s`;
  return `${Math.floor(seconds)}s`;
}
