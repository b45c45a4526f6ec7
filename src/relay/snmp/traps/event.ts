import { EVENT_LIMITS, type EventInput, type State } from '../../../core/event.js';
import { OID, STANDARD_TRAPS, enumLabel, normalizeOid, oidName, v1TrapOid } from '../mib.js';
import type { TrapsConfig } from './config.js';

/** One varbind as net-snmp decodes it. */
export interface Varbind { oid: string; type: number; value: unknown }

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

/** ASN.1 / SMI tags of the varbind types (net-snmp's ObjectType numbers). */
const T = { Boolean: 1, Integer: 2, BitString: 3, OctetString: 4, Null: 5, OID: 6, IpAddress: 64, Counter: 65, Gauge: 66, TimeTicks: 67, Opaque: 68, Counter64: 70, NoSuchObject: 128, NoSuchInstance: 129, EndOfMibView: 130 } as const;
const PDU_TRAP_V1 = 164;

/** What {@link trapToEvent} needs of the configuration. */
export type TrapMapping = Pick<TrapsConfig, 'map' | 'default_state' | 'link_by'> & { limits: Pick<TrapsConfig['limits'], 'max_varbinds' | 'max_value_bytes'> };

/** The event of one trap, with the address it is about (the host until a name is resolved). */
export interface TrapEvent {
  event: EventInput & { host: string; service: string; attributes: Record<string, string> };
  /** the agent's address: v1 agent-addr, else snmpTrapAddress.0, else the UDP source */
  address: string;
  /** varbinds left out (over `max_varbinds`, or a key longer than an attribute key may be) */
  dropped: number;
}

// U+0000–U+001F but tab, LF and CR; DEL and the C1 controls: printable text has none
const UNPRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An OctetString as text when it is printable UTF-8, else as colon-separated hex (a MAC address, a binary engine id). */
export function renderOctets(b: Uint8Array): string {
  try {
    const s = utf8.decode(b);
    if (!UNPRINTABLE.test(s)) return s;
  } catch { /* not UTF-8 */ }
  return hex(b);
}

/** A varbind's value as readable text: numbers as decimals, enumerations by label, strings as text or hex. */
export function renderValue(vb: Varbind, name?: string): string {
  const v = vb.value;
  switch (vb.type) {
    case T.Integer: {
      const label = name !== undefined && typeof v === 'number' ? enumLabel(name, v) : undefined;
      return label ?? String(v);
    }
    case T.OctetString: case T.Opaque:
      return v instanceof Uint8Array ? (vb.type === T.Opaque ? hex(v) : renderOctets(v)) : String(v ?? '');
    case T.Counter64:
      // an 8-byte (or shorter) big-endian buffer; a BigInt keeps every digit
      if (v instanceof Uint8Array) return v.length === 0 ? '0' : BigInt('0x' + Buffer.from(v).toString('hex')).toString();
      return String(v);
    case T.Null: return '';
    case T.NoSuchObject: return 'noSuchObject';
    case T.NoSuchInstance: return 'noSuchInstance';
    case T.EndOfMibView: return 'endOfMibView';
    default:
      // Boolean, Counter, Gauge, TimeTicks (hundredths of a second), IpAddress, OID
      return v instanceof Uint8Array ? hex(v) : String(v);
  }
}

/** Cut `s` to at most `maxBytes` UTF-8 bytes on a character boundary, marking the cut with `…` (3 bytes). */
export function cutBytes(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  const budget = maxBytes - 3;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > budget) break;
    bytes += n;
    end += ch.length;
  }
  return s.slice(0, end) + '…';
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
    const which = m.link_by === 'name' ? name ?? index : index ?? name;
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
