import { EVENT_LIMITS, type EventInput, type State } from '../../../core/event.js';
import { OID, STANDARD_TRAPS, normalizeOid, oidName, v1TrapOid } from '../mib.js';
import { cutBytes, renderValue, type Varbind } from '../values.js';
import type { TrapsConfig } from './config.js';

export type { Varbind } from '../values.js';

/** A received notification as net-snmp's Receiver hands it over (with `includeAuthentication`). */
export interface Notification {
  pdu: {
    /** 164 Trap (v1), 166 InformRequest, 167 TrapV2 */
    type: number;
    varbinds: Varbind[];
    /** v1 only */
    enterprise?: string;
    agentAddr?: string;
    generic?: number;
    specific?: number;
    upTime?: number;
    /** v1/v2c */
    community?: string;
    /** v3 */
    user?: string;
    scoped?: boolean;
  };
  rinfo: { address: string; port: number; family?: string };
}

const PDU_TRAP_V1 = 164;

/** What {@link trapToEvent} needs of the configuration. */
export type TrapMapping = Pick<TrapsConfig, 'map' | 'default_state' | 'link_service'> & { limits: Pick<TrapsConfig['limits'], 'max_varbinds' | 'max_value_bytes'> };

/** The event of one trap, with the address it is about (the host until a name is resolved). */
export interface TrapEvent {
  event: EventInput & { host: string; service: string; attributes: Record<string, string> };
  /** the agent's address: v1 agent-addr, else snmpTrapAddress.0, else the UDP source */
  address: string;
  /** varbinds left out (over `max_varbinds`, or a key longer than an attribute key may be) */
  dropped: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** An IPv4-mapped IPv6 address as IPv4 (`::ffff:10.0.0.2` → `10.0.0.2`). */
function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && IPV4.test(a.slice(7)) ? a.slice(7) : a;
}

function usableAddress(a: unknown): a is string {
  return typeof a === 'string' && IPV4.test(a) && a !== '0.0.0.0';
}

/** Substitute `{attribute}` placeholders of a mapped service name; a missing attribute reads `?`. */
function fillTemplate(template: string, attributes: Record<string, string>): string {
  return template.replace(/\{([A-Za-z0-9_.-]+)\}/g, (_m, key: string) => (Object.hasOwn(attributes, key) ? attributes[key]! : '?'));
}

function serviceText(s: string): string {
  // names carry no control characters (attribute text can have tab/newline) and no lone surrogates
  const clean = s.toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > EVENT_LIMITS.serviceLength ? clean.slice(0, EVENT_LIMITS.serviceLength) : clean;
}

/**
 * One trap as one event (without the `source`, which the relay stamps):
 * - host: the agent address (v1 agent-addr; v2c/v3 snmpTrapAddress.0 if present, else the UDP source);
 * - service: the `map` entry for the trap OID, else `link <ifIndex|ifName>` for
 *   linkDown (critical) and linkUp (ok), `trap <name>` for the other standard
 *   traps, `trap <oid>` for the rest (state `default_state`);
 * - attributes: each varbind by its MIB-II name where known (a second one of
 *   the same name as `name.instance`), by numeric OID otherwise, values
 *   readable and cut to `max_value_bytes`; plus `snmp_version`, `trap_oid`,
 *   `agent_address`, and the v3 `user` or v1 `enterprise`.
 * Never throws on a decoded PDU; bounded by EVENT_LIMITS.
 */
export function trapToEvent(n: Notification, m: TrapMapping, now: number): TrapEvent {
  const pdu = n.pdu;
  const varbinds = Array.isArray(pdu.varbinds) ? pdu.varbinds : [];
  const v1 = pdu.type === PDU_TRAP_V1;
  const version = v1 ? '1' : pdu.user !== undefined || pdu.scoped === true ? '3' : '2c';

  let trapOid: string;
  if (v1) {
    trapOid = v1TrapOid(String(pdu.enterprise ?? ''), Number(pdu.generic), Number(pdu.specific));
  } else {
    const vb = varbinds.find((x) => normalizeOid(String(x.oid)) === OID.snmpTrapOID0);
    trapOid = vb && typeof vb.value === 'string' ? normalizeOid(vb.value) : 'unknown';
  }
  const trapName = STANDARD_TRAPS.get(trapOid);

  let address = plainAddress(String(n.rinfo.address));
  if (v1 && usableAddress(pdu.agentAddr)) address = pdu.agentAddr;
  else if (!v1) {
    const vb = varbinds.find((x) => normalizeOid(String(x.oid)) === OID.snmpTrapAddress0);
    if (vb && usableAddress(vb.value)) address = vb.value;
  }

  const attributes: Record<string, string> = { snmp_version: version, trap_oid: trapOid, agent_address: address };
  if (trapName) attributes.trap = trapName;
  if (v1) {
    attributes.enterprise = normalizeOid(String(pdu.enterprise ?? ''));
    if (typeof pdu.upTime === 'number') attributes.sysUpTime = String(pdu.upTime);
  }
  if (version === '3' && typeof pdu.user === 'string') attributes.user = cutBytes(pdu.user, 64);
  const reserved = Object.keys(attributes).length;
  const maxVarbinds = Math.min(m.limits.max_varbinds, EVENT_LIMITS.attributes - reserved);

  let dropped = 0;
  let kept = 0;
  let ifIndexFromInstance: string | undefined;
  for (const vb of varbinds) {
    const oid = normalizeOid(String(vb.oid));
    const known = oidName(oid);
    if (known && known.name.startsWith('if') && /^\d+$/.test(known.instance)) ifIndexFromInstance ??= known.instance;
    let key = known ? known.name : oid;
    if (Object.hasOwn(attributes, key)) key = known && known.instance !== '' && !Object.hasOwn(attributes, `${known.name}.${known.instance}`) ? `${known.name}.${known.instance}` : oid;
    if (kept >= maxVarbinds || key.length > EVENT_LIMITS.attributeKeyLength || Object.hasOwn(attributes, key)) { dropped++; continue; }
    attributes[key] = cutBytes(renderValue(vb, known?.name), m.limits.max_value_bytes);
    kept++;
  }
  if (dropped > 0 && Object.keys(attributes).length < EVENT_LIMITS.attributes) attributes.varbinds_dropped = String(dropped);

  const mapped = Object.hasOwn(m.map, trapOid) ? m.map[trapOid] : Object.hasOwn(m.map, '.' + trapOid) ? m.map['.' + trapOid] : undefined;
  let service: string;
  let state: State = m.default_state;
  if (trapName === 'linkDown' || trapName === 'linkUp') {
    const index = attributes.ifIndex ?? ifIndexFromInstance;
    const name = attributes.ifName ?? attributes.ifDescr;
    const which = m.link_service === 'name' ? name ?? index : index ?? name;
    service = which !== undefined && which !== '' ? `link ${which}` : 'link';
    state = trapName === 'linkDown' ? 'critical' : 'ok';
  } else {
    service = `trap ${trapName ?? trapOid}`;
  }
  if (mapped?.service) service = fillTemplate(mapped.service, attributes);
  if (mapped?.state) state = mapped.state;
  service = serviceText(service);

  const summary = Object.entries(attributes)
    .filter(([k]) => !['snmp_version', 'trap_oid', 'agent_address', 'trap', 'user', 'enterprise', 'snmpTrapOID'].includes(k))
    .map(([k, v]) => `${k}=${v.length > 64 ? v.slice(0, 64) + '…' : v}`)
    .join(' ');
  const description = cutBytes(`SNMPv${version} ${trapName ?? trapOid} from ${address}${summary ? ': ' + summary : ''}`, 2048);

  return { event: { host: address, service, state, description, attributes, time: now }, address, dropped };
}
