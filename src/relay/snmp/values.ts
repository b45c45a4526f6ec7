/**
 * Varbind values as readable text, shared by the trap listener and the poller
 * so that a value reads the same whichever way it arrived.
 */
import { enumLabel } from './mib.js';

/** One varbind as net-snmp decodes it. */
export interface Varbind { oid: string; type: number; value: unknown }

/** ASN.1 / SMI tags of the varbind types (net-snmp's ObjectType numbers). */
export const VARBIND_TYPES = { Boolean: 1, Integer: 2, BitString: 3, OctetString: 4, Null: 5, OID: 6, IpAddress: 64, Counter: 65, Gauge: 66, TimeTicks: 67, Opaque: 68, Counter64: 70, NoSuchObject: 128, NoSuchInstance: 129, EndOfMibView: 130 } as const;
const T = VARBIND_TYPES;

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

