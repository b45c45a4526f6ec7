/**
 * The arithmetic of polling: counters that wrap or reset, uptime that goes
 * back, and SNMP values turned into numbers. Pure functions of their inputs
 * (times are passed in), so every case is unit-tested without a device.
 */

import { VARBIND_TYPES, type Varbind } from '../values.js';

export type { Varbind };

/** net-snmp's ObjectType codes (the trap listener's table), with the SMIv2 names of the 32-bit types. */
export const SnmpType = { ...VARBIND_TYPES, Counter32: VARBIND_TYPES.Counter, Gauge32: VARBIND_TYPES.Gauge } as const;

/** The width of a counter: Counter32 wraps at 2^32, Counter64 at 2^64. */
export type CounterBits = 32 | 64;

const TWO_32 = 2n ** 32n;
const TWO_64 = 2n ** 64n;

/** noSuchObject, noSuchInstance, endOfMibView: the agent has no such value. */
export function isMissing(vb: Varbind): boolean {
  return vb.type === SnmpType.NoSuchObject || vb.type === SnmpType.NoSuchInstance || vb.type === SnmpType.EndOfMibView || vb.type === SnmpType.Null;
}

/**
 * A counter's value as a bigint: Counter64 arrives as a big-endian Buffer of up
 * to 8 bytes (net-snmp leaves 64-bit integers opaque), the 32-bit types as numbers.
 * Undefined for anything that is not an unsigned counter of that width.
 */
export function counterValue(vb: Varbind): { value: bigint; bits: CounterBits } | undefined {
  if (vb.type === SnmpType.Counter64) {
    if (!Buffer.isBuffer(vb.value) || vb.value.length === 0 || vb.value.length > 9) return undefined;
    let v = 0n;
    for (const b of vb.value) v = (v << 8n) | BigInt(b);
    // a 9-byte encoding carries a leading zero for the sign; anything wider than 64 bits is malformed
    return v < TWO_64 ? { value: v, bits: 64 } : undefined;
  }
  if (vb.type === SnmpType.Counter32 && typeof vb.value === 'number' && Number.isInteger(vb.value) && vb.value >= 0 && vb.value < 2 ** 32) {
    return { value: BigInt(vb.value), bits: 32 };
  }
  return undefined;
}

/**
 * A varbind as a number where that makes sense: integers, gauges, counters
 * (Counter64 beyond 2^53 loses precision), TimeTicks (hundredths of a second),
 * and an OctetString holding a decimal number (many vendors' sensors and
 * UCD-SNMP's laLoad). Undefined otherwise.
 */
export function numericValue(vb: Varbind): number | undefined {
  switch (vb.type) {
    case SnmpType.Integer: case SnmpType.Counter32: case SnmpType.Gauge32: case SnmpType.TimeTicks:
      return typeof vb.value === 'number' && Number.isFinite(vb.value) ? vb.value : undefined;
    case SnmpType.Counter64: {
      const c = counterValue(vb);
      return c ? Number(c.value) : undefined;
    }
    case SnmpType.OctetString: {
      const s = textValue(vb);
      if (s === undefined || !/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s)) return undefined;
      const n = Number(s);
      return Number.isFinite(n) ? n : undefined;
    }
    default:
      return undefined;
  }
}

/** An OctetString as text when it is printable UTF-8, else undefined (a MAC address, binary). */
export function textValue(vb: Varbind): string | undefined {
  if (vb.type !== SnmpType.OctetString) return undefined;
  const buf = Buffer.isBuffer(vb.value) ? vb.value : typeof vb.value === 'string' ? Buffer.from(vb.value) : undefined;
  if (!buf) return undefined;
  const s = buf.toString('utf8');
  // control characters or invalid UTF-8 (U+FFFD): not text
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/.test(s)) return undefined;
  return s.replace(/\0+$/, '');
}

/** A varbind rendered readably for a description or attribute (text, number, hex). */
export function displayValue(vb: Varbind): string {
  if (isMissing(vb)) return vb.type === SnmpType.NoSuchInstance ? 'noSuchInstance' : vb.type === SnmpType.EndOfMibView ? 'endOfMibView' : vb.type === SnmpType.Null ? 'null' : 'noSuchObject';
  const n = numericValue(vb);
  if (n !== undefined) return String(n);
  const t = textValue(vb);
  if (t !== undefined) return t;
  if (Buffer.isBuffer(vb.value)) return vb.value.toString('hex');
  return String(vb.value);
}

/**
 * How far a counter moved between two readings, or undefined when it cannot
 * be told (the reading should be skipped and the new value kept as the base):
 * - forward: the difference;
 * - back, 32 bits: a wrap past 2^32 — unless that wrap would mean more than
 *   `maxDelta` (a counter faster than its interface can be is a reset: the
 *   device restarted or the counter was cleared);
 * - back, 64 bits: a reset (2^64 octets do not pass between two polls);
 * - `reset`: the caller knows the device restarted.
 */
export function counterDelta(prev: bigint, cur: bigint, bits: CounterBits, opts: { reset?: boolean; maxDelta?: bigint } = {}): bigint | undefined {
  if (opts.reset) return undefined;
  if (cur >= prev) return cur - prev;
  if (bits === 64) return undefined;
  const wrapped = TWO_32 - prev + cur;
  if (opts.maxDelta !== undefined && wrapped > opts.maxDelta) return undefined;
  return wrapped;
}

/** A per-second rate of `delta` over `elapsedMs`, or undefined when no time passed. */
export function perSecond(delta: bigint, elapsedMs: number): number | undefined {
  if (!(elapsedMs > 0)) return undefined;
  return Number(delta) * 1000 / elapsedMs;
}

/** TimeTicks (sysUpTime) wrap at 2^32 hundredths of a second: about 497 days. */
export const UPTIME_WRAP_TICKS = 2 ** 32;

/**
 * Whether a device restarted between two answers, from its sysUpTime (ticks,
 * hundredths of a second) and the relay's clock between the answers:
 * - uptime went back: a restart, unless it is the 497-day wrap (the old value
 *   plus the time that passed reaches 2^32 and the new one is small);
 * - uptime went on but is smaller than the time since the last answer: the
 *   device came up after that answer (restarted while it did not answer).
 * `slackMs` absorbs the delay between the agent reading its clock and the
 * answer arriving.
 */
export function restarted(prevTicks: number, curTicks: number, elapsedMs: number, slackMs = 2000): boolean {
  const elapsedTicks = Math.max(0, elapsedMs) / 10;
  const slack = slackMs / 10;
  if (curTicks < prevTicks) {
    const wrap = prevTicks + elapsedTicks + slack >= UPTIME_WRAP_TICKS && curTicks <= elapsedTicks + slack;
    return !wrap;
  }
  return curTicks + slack < elapsedTicks;
}
