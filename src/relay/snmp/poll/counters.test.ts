import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { counterDelta, counterValue, displayValue, numericValue, perSecond, restarted, SnmpType, textValue, UPTIME_WRAP_TICKS, type Varbind } from './counters.js';

const c64 = (n: bigint): Varbind => {
  const bytes: number[] = [];
  for (let v = n; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return { oid: '1', type: SnmpType.Counter64, value: Buffer.from(bytes.length ? bytes : [0]) };
};

test('counterDelta: forward is the difference; a 32-bit counter going back wrapped past 2^32', () => {
  assert.equal(counterDelta(100n, 250n, 32), 150n);
  assert.equal(counterDelta(2n ** 32n - 10n, 5n, 32), 15n);
  assert.equal(counterDelta(2n ** 64n - 10n, 5n, 64), undefined, 'a 64-bit counter going back was reset: 2^64 octets do not pass between polls');
  assert.equal(counterDelta(100n, 250n, 64, { reset: true }), undefined, 'after a restart the old base means nothing');
});

test('counterDelta: a 32-bit wrap faster than the link can carry is a reset, not a wrap', () => {
  // 1 Gbit/s for 1 s is 1.25e8 octets: a "wrap" from 4.0e9 (2.9e8 octets) cannot have happened
  assert.equal(counterDelta(4_000_000_000n, 1000n, 32, { maxDelta: 125_000_000n }), undefined);
  assert.equal(counterDelta(4_294_000_000n, 1000n, 32, { maxDelta: 125_000_000n }), 968_296n);
});

test('counterDelta property: for any two readings of a counter that moved by d < 2^bits, the delta is d', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), (start, d) => {
    assert.equal(counterDelta(start, (start + d) % 2n ** 32n, 32), d);
  }));
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 63n }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), (start, d) => {
    assert.equal(counterDelta(start, start + d, 64), d);
  }));
});

test('perSecond: delta over elapsed ms; no rate without elapsed time', () => {
  assert.equal(perSecond(1000n, 500), 2000);
  assert.equal(perSecond(1000n, 0), undefined);
  assert.equal(perSecond(1000n, -5), undefined);
});

test('counterValue: Counter64 buffers of any width up to 64 bits round-trip; Counter32 numbers; anything else is not a counter', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (n) => {
    assert.deepEqual(counterValue(c64(n)), { value: n, bits: 64 });
  }));
  // a leading zero byte (sign) is allowed
  assert.deepEqual(counterValue({ oid: '1', type: SnmpType.Counter64, value: Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }), { value: 2n ** 64n - 1n, bits: 64 });
  assert.equal(counterValue({ oid: '1', type: SnmpType.Counter64, value: Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0]) }), undefined);
  assert.deepEqual(counterValue({ oid: '1', type: SnmpType.Counter32, value: 7 }), { value: 7n, bits: 32 });
  assert.equal(counterValue({ oid: '1', type: SnmpType.Gauge32, value: 7 }), undefined);
  assert.equal(counterValue({ oid: '1', type: SnmpType.Counter32, value: -1 }), undefined);
});

test('numericValue, textValue, displayValue: never throw on any varbind, and read the readable ones', () => {
  const anyValue = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)), fc.constant(null), fc.constant(undefined), fc.boolean());
  fc.assert(fc.property(fc.integer({ min: 0, max: 256 }), anyValue, (type, value) => {
    const vb = { oid: '1.3', type, value };
    const n = numericValue(vb);
    assert.ok(n === undefined || Number.isFinite(n));
    textValue(vb);
    assert.equal(typeof displayValue(vb), 'string');
  }));
  assert.equal(numericValue({ oid: '1', type: SnmpType.OctetString, value: Buffer.from(' 0.42 ') }), 0.42, 'a load average as text');
  assert.equal(numericValue({ oid: '1', type: SnmpType.OctetString, value: Buffer.from('eth0') }), undefined);
  assert.equal(displayValue({ oid: '1', type: SnmpType.OctetString, value: Buffer.from([0x00, 0x1b, 0x21, 0xff]) }), '001b21ff', 'a MAC address in hex');
  assert.equal(displayValue({ oid: '1', type: SnmpType.NoSuchInstance, value: null }), 'noSuchInstance');
});

test('restarted: uptime going back is a restart; the 497-day TimeTicks wrap is not', () => {
  assert.equal(restarted(50_000, 100, 30_000), true, 'from 500 s back to 1 s');
  assert.equal(restarted(50_000, 53_000, 30_000), false, 'on by 30 s in 30 s');
  assert.equal(restarted(UPTIME_WRAP_TICKS - 1000, 2000, 30_000), false, 'wrapped: 10 s before 2^32, 30 s later 20 s past it');
  assert.equal(restarted(UPTIME_WRAP_TICKS - 1000, 2000, 1_000), true, 'back near 2^32 but too soon for a wrap');
});

test('restarted: a device that came up after the last answer (it restarted while it did not answer) is a restart even if its uptime is now larger', () => {
  // 20 s of uptime, then an hour without answers, then 30 min of uptime: it booted during the gap
  assert.equal(restarted(2_000, 180_000, 3_600_000), true);
  assert.equal(restarted(2_000, 362_000, 3_600_000), false, 'on by an hour in an hour');
});

test('restarted property: a device whose uptime advances with the clock never restarted, across the wrap too', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: UPTIME_WRAP_TICKS - 1 }), fc.integer({ min: 0, max: 86_400_000 }), fc.integer({ min: -1500, max: 1500 }), (ticks, elapsedMs, jitterMs) => {
    const cur = (ticks + Math.max(0, Math.floor((elapsedMs + jitterMs) / 10))) % UPTIME_WRAP_TICKS;
    assert.equal(restarted(ticks, cur, elapsedMs), false, `${ticks} → ${cur} in ${elapsedMs} ms`);
  }));
});
