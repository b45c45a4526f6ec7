import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import snmp from 'net-snmp';
import { parse as parseYaml } from 'yaml';
import { pino } from 'pino';
import { makeEvent, type EventInput } from '../../../core/event.js';
import { Registry } from '../../../core/metrics.js';
import { devicesConfigSchema, maxInFlightSchema } from './config.js';
import { SnmpType, type Varbind } from './counters.js';
import { IF_COLUMNS, IF_INDEX, SYS_UPTIME } from './device.js';
import { createPoller, type PollTimers } from './index.js';
import type { SnmpSession } from './session.js';

/** What net-snmp raises when nothing answers (the poller tells it by name). */
function timedOut(): Error {
  const e = new Error('Request timed out');
  e.name = 'RequestTimedOutError';
  return e;
}

/**
 * A fake SNMP agent: OID → varbind, answered in OID order for walks; `down`
 * makes every request time out; `gate` holds every request until released.
 */
class FakeAgent {
  readonly values = new Map<string, Varbind>();
  down = false;
  /** SNMPv1: one missing OID fails the whole GET with noSuchName */
  v1 = false;
  /** this OID fails every GET that asks for it with genErr */
  broken: string | undefined;
  open = 0;
  maxOpen = 0;
  sessions = 0;
  private gates: (() => void)[] = [];
  hold = false;

  set(oid: string, type: number, value: unknown): void { this.values.set(oid, { oid, type, value }); }
  uptime(seconds: number): void { this.set(SYS_UPTIME, SnmpType.TimeTicks, Math.round(seconds * 100)); }
  iface(index: number, f: { name?: string; oper?: number; admin?: number; hcIn?: bigint; hcOut?: bigint; in32?: number; out32?: number; inErr?: number; outErr?: number; speed?: number; highSpeed?: number }): void {
    this.set(`${IF_INDEX}.${index}`, SnmpType.Integer, index);
    if (f.name !== undefined) { this.set(`${IF_COLUMNS.ifName.oid}.${index}`, SnmpType.OctetString, Buffer.from(f.name)); this.set(`${IF_COLUMNS.ifDescr.oid}.${index}`, SnmpType.OctetString, Buffer.from(f.name)); }
    if (f.oper !== undefined) this.set(`${IF_COLUMNS.ifOperStatus.oid}.${index}`, SnmpType.Integer, f.oper);
    if (f.admin !== undefined) this.set(`${IF_COLUMNS.ifAdminStatus.oid}.${index}`, SnmpType.Integer, f.admin);
    if (f.hcIn !== undefined) this.set(`${IF_COLUMNS.ifHCInOctets.oid}.${index}`, SnmpType.Counter64, be64(f.hcIn));
    if (f.hcOut !== undefined) this.set(`${IF_COLUMNS.ifHCOutOctets.oid}.${index}`, SnmpType.Counter64, be64(f.hcOut));
    if (f.in32 !== undefined) this.set(`${IF_COLUMNS.ifInOctets.oid}.${index}`, SnmpType.Counter32, f.in32);
    if (f.out32 !== undefined) this.set(`${IF_COLUMNS.ifOutOctets.oid}.${index}`, SnmpType.Counter32, f.out32);
    if (f.inErr !== undefined) this.set(`${IF_COLUMNS.ifInErrors.oid}.${index}`, SnmpType.Counter32, f.inErr);
    if (f.outErr !== undefined) this.set(`${IF_COLUMNS.ifOutErrors.oid}.${index}`, SnmpType.Counter32, f.outErr);
    if (f.speed !== undefined) this.set(`${IF_COLUMNS.ifSpeed.oid}.${index}`, SnmpType.Gauge32, f.speed);
    if (f.highSpeed !== undefined) this.set(`${IF_COLUMNS.ifHighSpeed.oid}.${index}`, SnmpType.Gauge32, f.highSpeed);
  }
  release(): void { const g = this.gates; this.gates = []; for (const r of g) r(); }

  private async wait(): Promise<void> {
    if (this.hold) await new Promise<void>((r) => this.gates.push(r));
    if (this.down) throw timedOut();
  }

  session(): SnmpSession {
    this.sessions++;
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    let closed = false;
    return {
      get: async (oids) => {
        await this.wait();
        if (this.broken && oids.includes(this.broken)) throw new snmp.RequestFailedError(`GeneralError: ${this.broken}`, snmp.ErrorStatus.GeneralError);
        const missing = oids.find((oid) => !this.values.has(oid));
        if (this.v1 && missing) throw new snmp.RequestFailedError(`NoSuchName: ${missing}`, snmp.ErrorStatus.NoSuchName);
        return oids.map((oid) => this.values.get(oid) ?? { oid, type: SnmpType.NoSuchObject, value: null });
      },
      walk: async (prefix, max) => {
        await this.wait();
        const under = [...this.values.values()].filter((v) => v.oid.startsWith(prefix + '.')).sort((a, b) => cmpOid(a.oid, b.oid));
        return { varbinds: under.slice(0, max), more: under.length > max };
      },
      close: () => { if (!closed) { closed = true; this.open--; } },
    };
  }
}

function be64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
function cmpOid(a: string, b: string): number {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Timers that fire only when the test says so. */
function manualTimers(): PollTimers & { fire(): void; count(): number } {
  const pending = new Map<number, () => void>();
  let id = 0;
  return {
    setTimeout: (fn) => { pending.set(++id, fn); return id; },
    clearTimeout: (h) => { pending.delete(h as number); },
    fire: () => { const fns = [...pending.values()]; pending.clear(); for (const f of fns) f(); },
    count: () => pending.size,
  };
}

/** A poller over fake agents (by host), its events, its clock and its counters. */
function setup(devices: Record<string, unknown>[], agents: Record<string, FakeAgent>, maxInFlight = 16) {
  let now = 1_700_000_000_000;
  const events: EventInput[] = [];
  const metrics = new Registry();
  const timers = manualTimers();
  const poller = createPoller(devicesConfigSchema.parse(devices.map((d) => ({ address: '192.0.2.1', interval: '10s', ...d }))), {
    emit: (e) => { makeEvent(e, { source: 'snmp' }); events.push(e); },
    log: pino({ level: 'silent' }),
    metrics,
    now: () => now,
  }, { maxInFlight, timers, session: (d) => agents[d.host]!.session() });
  return {
    poller, events, metrics, timers,
    advance(ms: number) { now += ms; },
    /** events of one service, newest last */
    of: (host: string, service: string) => events.filter((e) => e.host === host && e.service === service),
    async pollAll() { for (const d of devices) poller.tick(String(d.host)); await poller.idle(); },
    count: (outcome: string) => metrics.counter('blick_snmp_polls_total', '').get({ outcome }),
  };
}

test('interface traffic: octet counters become bits/s over the injected clock, errors become errors/s, and the state of each link follows ifOperStatus', async (t) => {
  const a = new FakeAgent();
  a.uptime(1000);
  a.iface(1, { name: 'ge-0/0/1', oper: 1, admin: 1, hcIn: 1_000_000n, hcOut: 5_000n, inErr: 0, outErr: 10, highSpeed: 1000 });
  a.iface(2, { name: 'ge-0/0/2', oper: 2, admin: 1, hcIn: 0n, hcOut: 0n });
  a.iface(3, { name: 'ge-0/0/3', oper: 2, admin: 2 });
  const s = setup([{ host: 'sw' }], { sw: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  await s.pollAll();
  assert.equal(s.of('sw', 'link 1 in_bps').length, 0, 'the first poll only records the counters');
  assert.equal(s.of('sw', 'link 1').at(-1)!.state, 'ok');
  assert.equal(s.of('sw', 'link 2').at(-1)!.state, 'critical', 'admin up, oper down');
  assert.equal(s.of('sw', 'link 3').at(-1)!.state, 'ok', 'switched off on purpose');
  assert.match(s.of('sw', 'link 3').at(-1)!.description!, /administratively down/);

  s.advance(10_000);
  a.uptime(1010);
  a.iface(1, { name: 'ge-0/0/1', oper: 1, admin: 1, hcIn: 1_000_000n + 12_500_000n, hcOut: 5_000n + 1_250n, inErr: 30, outErr: 10 });
  await s.pollAll();
  const inBps = s.of('sw', 'link 1 in_bps').at(-1)!;
  assert.equal(inBps.metric, 10_000_000, '12.5 MB in 10 s is 10 Mbit/s');
  assert.deepEqual(inBps.attributes, { ifIndex: '1', ifName: 'ge-0/0/1', unit: 'bits/s' });
  assert.equal(s.of('sw', 'link 1 out_bps').at(-1)!.metric, 1000);
  assert.equal(s.of('sw', 'link 1 in_errors').at(-1)!.metric, 3);
  assert.equal(s.of('sw', 'link 1 out_errors').at(-1)!.metric, 0);
  assert.equal(s.of('sw', 'link 1 in_bps').length, 1);
});

test('32-bit counters: a wrap past 2^32 is a rate, a drop the link could not carry is a reset (no rate), and v1 reads only ifTable', async (t) => {
  const a = new FakeAgent();
  a.uptime(1000);
  a.iface(1, { name: 'eth0', oper: 1, admin: 1, in32: 2 ** 32 - 1000, out32: 3_000_000_000, speed: 100_000_000 });
  const s = setup([{ host: 'old', version: 1 }], { old: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  await s.pollAll();
  s.advance(10_000);
  a.uptime(1010);
  a.iface(1, { name: 'eth0', oper: 1, admin: 1, in32: 9000, out32: 1000, speed: 100_000_000 });
  await s.pollAll();
  assert.equal(s.of('old', 'link 1 in_bps').at(-1)!.metric, 10_000 * 8 / 10, 'wrapped: 10,000 octets in 10 s');
  assert.equal(s.of('old', 'link 1 out_bps').length, 0, 'a "wrap" of 1.3 GB in 10 s on 100 Mbit/s is a counter reset');
  s.advance(10_000);
  a.uptime(1020);
  a.iface(1, { name: 'eth0', oper: 1, admin: 1, in32: 19_000, out32: 2000, speed: 100_000_000 });
  await s.pollAll();
  assert.equal(s.of('old', 'link 1 out_bps').at(-1)!.metric, 800, 'rates resume from the new base');
  assert.equal(s.of('old', 'link 1').at(-1)!.attributes!.ifName, 'eth0', 'v1: the name comes from ifDescr');
});

test('uptime going back is a restart: `snmp restart` warning, counters start a new base (no bogus rate), ok again at the next poll', async (t) => {
  const a = new FakeAgent();
  a.uptime(86_400);
  a.iface(1, { name: 'p1', oper: 1, admin: 1, hcIn: 10n ** 12n, hcOut: 0n });
  const s = setup([{ host: 'ups' }], { ups: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  await s.pollAll();
  assert.equal(s.of('ups', 'snmp uptime').at(-1)!.metric, 86_400);
  assert.equal(s.of('ups', 'snmp uptime').at(-1)!.description, 'up 1d 0h 0m');
  s.advance(10_000);
  a.uptime(5);
  a.iface(1, { name: 'p1', oper: 1, admin: 1, hcIn: 100n, hcOut: 0n });
  await s.pollAll();
  const r = s.of('ups', 'snmp restart');
  assert.equal(r.length, 1);
  assert.equal(r[0]!.state, 'warning');
  assert.match(r[0]!.description!, /sysUpTime went from 86400 s to 5 s/);
  assert.equal(s.of('ups', 'link 1 in_bps').length, 0, 'a counter that went back after a restart is no rate');
  s.advance(10_000);
  a.uptime(15);
  a.iface(1, { name: 'p1', oper: 1, admin: 1, hcIn: 1100n, hcOut: 0n });
  await s.pollAll();
  assert.equal(s.of('ups', 'snmp restart').at(-1)!.state, 'ok');
  assert.equal(s.of('ups', 'link 1 in_bps').at(-1)!.metric, 800);
  s.advance(10_000);
  a.uptime(25);
  await s.pollAll();
  assert.equal(s.of('ups', 'snmp restart').length, 2, 'ok is said once, not every poll');
});

test('a device that stops answering: critical `snmp` (counted as timeout); ok again when it answers', async (t) => {
  const a = new FakeAgent();
  a.uptime(100);
  const s = setup([{ host: 'sw', interfaces: false, timeout: '2s', retries: 2 }], { sw: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  await s.pollAll();
  assert.equal(s.of('sw', 'snmp').at(-1)!.state, 'ok');
  assert.equal(s.of('sw', 'snmp').at(-1)!.ttl, 30, 'expires at the server if polls stop arriving (3 intervals)');
  a.down = true;
  s.advance(10_000);
  await s.pollAll();
  const down = s.of('sw', 'snmp').at(-1)!;
  assert.equal(down.state, 'critical');
  assert.equal(down.description, 'no answer from 192.0.2.1:161 (SNMP v2c, timeout 2000 ms, 2 retries)');
  assert.equal(s.count('timeout'), 1);
  a.down = false;
  s.advance(10_000);
  a.uptime(120);
  await s.pollAll();
  assert.equal(s.of('sw', 'snmp').at(-1)!.state, 'ok');
  assert.equal(s.count('ok'), 2);
  assert.equal(s.of('sw', 'snmp restart').length, 0, 'not answering is not a restart');
  assert.equal(a.open, 0, 'every session closed');
});

test('OIDs: thresholds above and below, a counter as a rate, text without thresholds as a description, a missing OID unknown (counted)', async (t) => {
  const a = new FakeAgent();
  a.uptime(100);
  a.set('1.3.6.1.4.1.1.1.0', SnmpType.Gauge32, 85); // temperature
  a.set('1.3.6.1.4.1.1.2.0', SnmpType.Integer, 15); // battery %
  a.set('1.3.6.1.4.1.1.3.0', SnmpType.Counter32, 1000); // requests
  a.set('1.3.6.1.4.1.1.4.0', SnmpType.OctetString, Buffer.from('firmware 1.2'));
  const s = setup([{ host: 'ups', interfaces: false, oids: [
    { oid: '.1.3.6.1.4.1.1.1.0', service: 'temperature', warning: 70, critical: 90, unit: 'C' },
    { oid: '1.3.6.1.4.1.1.2.0', service: 'battery', warning: 50, critical: 20, below: true },
    { oid: '1.3.6.1.4.1.1.3.0', service: 'requests', rate: true, warning: 1000 },
    { oid: '1.3.6.1.4.1.1.4.0', service: 'firmware' },
    { oid: '1.3.6.1.4.1.1.5.0', service: 'missing', critical: 1 },
    { oid: '1.3.6.1.4.1.1.4.0', service: 'firmware number', warning: 1 },
  ] }], { ups: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  await s.pollAll();
  const last = (svc: string) => s.of('ups', svc).at(-1)!;
  assert.deepEqual([last('temperature').state, last('temperature').metric, last('temperature').attributes!.unit], ['warning', 85, 'C']);
  assert.deepEqual([last('battery').state, last('battery').metric], ['critical', 15]);
  assert.equal(s.of('ups', 'requests').length, 0, 'a rate needs two readings');
  assert.equal(last('firmware').description, 'firmware 1.2');
  assert.equal(last('firmware').state, undefined);
  assert.equal(last('missing').state, 'unknown');
  assert.equal(last('firmware number').state, 'unknown', 'thresholds on text');
  const bad = s.metrics.counter('blick_snmp_poll_bad_values_total', '');
  assert.equal(bad.get({ reason: 'missing' }), 1);
  assert.equal(bad.get({ reason: 'not_numeric' }), 1);
  s.advance(2_000);
  a.set('1.3.6.1.4.1.1.3.0', SnmpType.Counter32, 5000);
  await s.pollAll();
  assert.deepEqual([last('requests').metric, last('requests').state], [2000, 'warning']);
});

test('at most max_in_flight devices are polled at once; the rest wait their turn and all are polled', async (t) => {
  const agents: Record<string, FakeAgent> = {};
  const shared = new FakeAgent();
  shared.uptime(100);
  shared.hold = true;
  const devices = Array.from({ length: 10 }, (_, i) => ({ host: `d${i}`, interfaces: false }));
  for (const d of devices) agents[d.host] = shared;
  const s = setup(devices, agents, 3);
  await s.poller.start();
  t.after(() => s.poller.stop());
  for (const d of devices) s.poller.tick(d.host);
  await new Promise((r) => setImmediate(r));
  assert.equal(shared.open, 3);
  assert.equal(s.metrics.gauge('blick_snmp_polls_queued', '').get(), 7);
  while (s.count('ok') < 10) {
    shared.release();
    await new Promise((r) => setImmediate(r));
    assert.ok(shared.open <= 3, `${shared.open} open`);
  }
  assert.equal(shared.maxOpen, 3);
  assert.equal(new Set(s.events.filter((e) => e.service === 'snmp').map((e) => e.host)).size, 10);
});

test('a poll never overlaps the previous one of the same device: the tick meanwhile is skipped and counted', async (t) => {
  const a = new FakeAgent();
  a.uptime(100);
  a.hold = true;
  const s = setup([{ host: 'slow', interfaces: false }], { slow: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  s.timers.fire(); // the first poll is due
  await new Promise((r) => setImmediate(r));
  s.timers.fire(); // the interval comes round while the first still waits for an answer
  s.timers.fire();
  assert.equal(a.sessions, 1);
  assert.equal(s.count('skipped'), 2);
  a.hold = false;
  a.release();
  await s.poller.idle();
  assert.equal(s.count('ok'), 1);
  s.timers.fire();
  await s.poller.idle();
  assert.equal(s.count('ok'), 2, 'polled again once the previous poll ended');
});

test('max_interfaces bounds the interfaces read per device; the excess is counted; ignore_interfaces skips by name', async (t) => {
  const a = new FakeAgent();
  a.uptime(100);
  for (let i = 1; i <= 10; i++) a.iface(i, { name: i === 2 ? 'Null0' : `eth${i}`, oper: 1, admin: 1 });
  const s = setup([{ host: 'big', max_interfaces: 4, ignore_interfaces: ['Null*'], link_service: 'name' }], { big: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  await s.pollAll();
  assert.deepEqual(s.events.filter((e) => e.service.startsWith('link ')).map((e) => e.service), ['link eth1', 'link eth3', 'link eth4']);
  assert.equal(s.metrics.counter('blick_snmp_poll_interfaces_over_limit_total', '').get(), 1);
});

test('stop() during a poll: it ends at once, its session is closed, and nothing is emitted after', async () => {
  const a = new FakeAgent();
  a.uptime(100);
  a.hold = true;
  const s = setup([{ host: 'sw', interfaces: false }], { sw: a });
  await s.poller.start();
  s.poller.tick('sw');
  await new Promise((r) => setImmediate(r));
  const stopped = s.poller.stop();
  a.release();
  await stopped;
  assert.equal(s.events.length, 0);
  assert.equal(a.open, 0);
  assert.equal(s.timers.count(), 0, 'no timer left');
});

test('fuzz: whatever a device answers (any type, any value, any OID under the walked column), the poll does not throw and every event it emits is valid', async () => {
  const anyVarbind = fc.record({
    type: fc.constantFrom(...Object.values(SnmpType)),
    value: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), fc.constant(null)),
  });
  const suffix = fc.oneof(fc.integer({ min: -5, max: 2 ** 31 }).map(String), fc.string({ maxLength: 6 }));
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(suffix, fc.array(anyVarbind, { minLength: 13, maxLength: 13 })), { maxLength: 6 }), anyVarbind, async (rows, up) => {
    const a = new FakeAgent();
    a.set(SYS_UPTIME, up.type, up.value);
    for (const [idx, vbs] of rows) {
      a.set(`${IF_INDEX}.${idx}`, vbs[0]!.type, vbs[0]!.value);
      Object.values(IF_COLUMNS).forEach((c, k) => a.set(`${c.oid}.${idx}`, vbs[k + 1]!.type, vbs[k + 1]!.value));
    }
    const s = setup([{ host: 'fz', oids: [{ oid: `${IF_COLUMNS.ifName.oid}.1`, service: 'x', warning: 1 }, { oid: `${IF_COLUMNS.ifHCInOctets.oid}.1`, service: 'y', rate: true }] }], { fz: a });
    await s.poller.start();
    try {
      await s.pollAll();
      s.advance(1000);
      await s.pollAll();
    } finally {
      await s.poller.stop();
    }
    assert.equal(s.metrics.counter('blick_snmp_poll_events_invalid_total', '').get(), 0, 'every event passed makeEvent');
    assert.equal(s.count('ok'), 2, JSON.stringify(s.of('fz', 'snmp').map((e) => e.description)));
  }), { numRuns: 150 });
});

test('README: every YAML sample parses with the schemas (relay.snmp.devices, relay.snmp.max_in_flight)', () => {
  const readme = readFileSync(new URL('../../../../../src/relay/snmp/poll/README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([^]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 2);
  for (const b of blocks) {
    const snmp = (parseYaml(b) as { relay: { snmp: { devices: unknown; max_in_flight?: unknown } } }).relay.snmp;
    const devices = devicesConfigSchema.parse(snmp.devices);
    assert.ok(devices.length > 0);
    maxInFlightSchema.parse(snmp.max_in_flight);
  }
});

test('config: version 3 needs a user, v1/v2c refuse one, hosts are unique, OIDs are numeric', () => {
  const bad = (d: unknown[]): string => { const r = devicesConfigSchema.safeParse(d); assert.equal(r.success, false); return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '); };
  assert.match(bad([{ host: 'a', address: 'x', version: 3 }]), /0\.user: version 3 needs a user/);
  assert.match(bad([{ host: 'a', address: 'x', user: { name: 'u' } }]), /0\.user: user is only used with version 3/);
  assert.match(bad([{ host: 'a', address: 'x' }, { host: 'a', address: 'y' }]), /1\.host: host "a" is polled twice/);
  assert.match(bad([{ host: 'a', address: 'x', oids: [{ oid: 'sysUpTime.0', service: 's' }] }]), /must be a numeric OID/);
  assert.match(bad([{ host: 'a', address: 'x', version: '3', user: { name: 'u', priv: { protocol: 'aes', key: '12345678' } } }]), /priv needs auth/);
  const [d] = devicesConfigSchema.parse([{ host: 'a', address: 'x', version: 1 }]);
  assert.deepEqual([d!.version, d!.port, d!.interval, d!.timeout, d!.retries, d!.max_interfaces], ['1', 161, 30_000, 5_000, 1, 64]);
});

test('SNMPv1: one OID the agent lacks does not fail the others (asked one by one); a part that fails leaves the other part read and `snmp` warning', async (t) => {
  const a = new FakeAgent();
  a.v1 = true;
  a.uptime(100);
  a.set('1.3.6.1.4.1.9.1.0', SnmpType.Integer, 5);
  a.iface(1, { name: 'eth0', oper: 1, admin: 1, in32: 0, out32: 0, inErr: 0, outErr: 0, speed: 0 });
  for (const c of ['ifSpeed', 'ifAdminStatus', 'ifOperStatus', 'ifInOctets', 'ifInErrors', 'ifOutOctets', 'ifOutErrors', 'ifDescr'] as const) if (!a.values.has(`${IF_COLUMNS[c].oid}.1`)) a.set(`${IF_COLUMNS[c].oid}.1`, SnmpType.Integer, 0);
  const s = setup([{ host: 'v1', version: 1, oids: [{ oid: '1.3.6.1.4.1.9.1.0', service: 'present' }, { oid: '1.3.6.1.4.1.9.2.0', service: 'absent' }] }], { v1: a });
  await s.poller.start();
  t.after(() => s.poller.stop());
  await s.pollAll();
  assert.equal(s.of('v1', 'present').at(-1)!.metric, 5);
  assert.equal(s.of('v1', 'absent').at(-1)!.state, 'unknown');
  assert.equal(s.of('v1', 'snmp').at(-1)!.state, 'ok');

  a.broken = '1.3.6.1.4.1.9.1.0';
  s.advance(10_000);
  a.uptime(110);
  await s.pollAll();
  const sn = s.of('v1', 'snmp').at(-1)!;
  assert.equal(sn.state, 'warning');
  assert.match(sn.description!, /answered, but reading oids failed: GeneralError/);
  assert.equal(s.of('v1', 'link 1').length, 2, 'the interfaces were still read');
  assert.equal(s.count('error'), 1);
});
