import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLogger } from '../core/log.js';
import { Counter } from '../core/metrics.js';
import { zEndpoint, zBindEndpoint } from '../core/config.js';
import { dnsConfigSchema, MAX_SRV_TARGETS, orderSrv, srvName, SrvUpstream, type SrvRecord, type SrvResolver } from './discovery.js';

const rec = (name: string, priority: number, weight: number, port = 5556): SrvRecord => ({ name, port, priority, weight });

test('orderSrv: lowest priority first, every record once, "." alone means no targets', () => {
  const records = [rec('c', 20, 0), rec('a', 10, 5), rec('b', 10, 5), rec('d', 30, 1)];
  for (const r of [0, 0.3, 0.7, 0.999]) {
    const out = orderSrv(records, () => r);
    assert.deepEqual(out.map((x) => x.priority), [10, 10, 20, 30]);
    assert.deepEqual(out.map((x) => x.name).sort(), ['a', 'b', 'c', 'd']);
  }
  assert.deepEqual(orderSrv([rec('.', 0, 0)]), []);
  assert.deepEqual(orderSrv([]), []);
});

test('orderSrv: among equal priorities the first pick follows the weights (RFC 2782 running sum)', () => {
  const records = [rec('heavy', 1, 90), rec('light', 1, 10), rec('zero', 1, 0)];
  // draw d in [0,1) → pick = floor(d * 101): 0 → zero (weight 0 first in the list), 1..90 → heavy, 91..100 → light
  assert.equal(orderSrv(records, () => 0)[0]!.name, 'zero');
  assert.equal(orderSrv(records, () => 0.5)[0]!.name, 'heavy');
  assert.equal(orderSrv(records, () => 0.95)[0]!.name, 'light');
  // and over many draws the shares match the weights
  let seed = 1;
  const random = () => { seed = (seed * 16807) % 2147483647; return (seed - 1) / 2147483646; };
  const firsts = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) { const n = orderSrv(records, random)[0]!.name; firsts.set(n, (firsts.get(n) ?? 0) + 1); }
  const share = (n: string) => (firsts.get(n) ?? 0) / 20_000;
  assert.ok(Math.abs(share('heavy') - 90 / 101) < 0.02, `heavy ${share('heavy')}`);
  assert.ok(Math.abs(share('light') - 10 / 101) < 0.02, `light ${share('light')}`);
  assert.ok(share('zero') < 0.03, `zero ${share('zero')}`);
});

test('orderSrv property: a permutation, sorted by priority, for any records and draws', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'e'), port: fc.integer({ min: 1, max: 65535 }), priority: fc.integer({ min: 0, max: 3 }), weight: fc.integer({ min: 0, max: 65535 }) }), { maxLength: 12 }),
    fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 20 }),
    (records, draws) => {
      let i = 0;
      const out = orderSrv(records, () => draws[i++ % draws.length]!);
      assert.equal(out.length, records.length);
      for (let k = 1; k < out.length; k++) assert.ok(out[k - 1]!.priority <= out[k]!.priority);
      const key = (r: SrvRecord) => `${r.name}/${r.port}/${r.priority}/${r.weight}`;
      assert.deepEqual(out.map(key).sort(), records.map(key).sort());
    },
  ));
});

test('srv+tcp:// endpoints: accepted for upstreams, refused for a bind, garbage refused', () => {
  assert.equal(srvName('srv+tcp://_blick._tcp.example.net'), '_blick._tcp.example.net');
  assert.equal(srvName('tcp://127.0.0.1:5556'), undefined);
  assert.ok(zEndpoint.safeParse('srv+tcp://_blick._tcp.example.net').success);
  assert.ok(zEndpoint.safeParse('srv+tcp://_blick._tcp.example.net.').success);
  assert.ok(!zEndpoint.safeParse('srv+tcp://').success);
  assert.ok(!zEndpoint.safeParse('srv+tcp://a b').success);
  assert.ok(!zEndpoint.safeParse('srv+tcp://a..b').success);
  assert.ok(!zEndpoint.safeParse(`srv+tcp://${'a'.repeat(64)}.net`).success);
  assert.ok(!zBindEndpoint.safeParse('srv+tcp://_blick._tcp.example.net').success);
  assert.ok(zBindEndpoint.safeParse('tcp://0.0.0.0:5556').success);
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => { zEndpoint.safeParse(`srv+tcp://${s}`); }));
  assert.ok(!dnsConfigSchema.safeParse({ servers: ['not an address'] }).success);
  assert.ok(!dnsConfigSchema.safeParse({ refresh: '10ms' }).success);
  assert.deepEqual(dnsConfigSchema.parse({ servers: ['127.0.0.1:5353'], refresh: '30s' }), { servers: ['127.0.0.1:5353'], refresh: 30_000, failover: 10_000 });
});

/** A resolver whose answers the test sets, and a socket whose connections it sets. */
function fixture(records: SrvRecord[] | Error) {
  let answer: SrvRecord[] | Error = records;
  const hosts: Record<string, string> = { 'one.example.net': '10.0.0.1', 'two.example.net': '10.0.0.2', 'three.example.net': '10.0.0.3' };
  const resolver: SrvResolver = {
    async resolveSrv() { if (answer instanceof Error) throw answer; return answer; },
    async resolve4(name) { const a = hosts[name]; if (!a) throw new Error('ENOTFOUND'); return [a]; },
    async resolve6() { throw new Error('ENODATA'); },
  };
  const calls: string[] = [];
  const up = new Set<string>();
  let now = 1_000_000;
  const lookups = new Counter('l', 'l');
  const changes = new Counter('c', 'c');
  const srv = new SrvUpstream({
    name: '_blick._tcp.example.net', resolver, refreshMs: 60_000, failoverMs: 10_000, now: () => now, random: () => 0.5,
    log: createLogger('test', { level: 'silent' }), lookups, changes,
    sink: { connect: (e) => calls.push(`+${e}`), disconnect: (e) => { calls.push(`-${e}`); up.delete(e); }, isConnected: (e) => up.has(e) },
  });
  return {
    srv, calls, up, lookups, changes,
    set(r: SrvRecord[] | Error) { answer = r; },
    advance(ms: number) { now += ms; },
  };
}

test('SrvUpstream: connects the best target, follows a change of the record on refresh', async () => {
  const f = fixture([rec('two.example.net', 20, 1), rec('one.example.net', 10, 1)]);
  await f.srv.tick();
  assert.deepEqual(f.calls, ['+tcp://10.0.0.1:5556']);
  f.up.add('tcp://10.0.0.1:5556');
  f.advance(30_000);
  assert.equal(f.srv.tick(), undefined, 'nothing due before the refresh interval');
  f.set([rec('three.example.net', 5, 1, 6000)]);
  f.advance(30_000);
  await f.srv.tick();
  assert.deepEqual(f.calls, ['+tcp://10.0.0.1:5556', '-tcp://10.0.0.1:5556', '+tcp://10.0.0.3:6000']);
  assert.equal(f.changes.get(), 2);
  assert.equal(f.lookups.get({ result: 'ok' }), 2);
  // the same answer again: nothing moves
  f.up.add('tcp://10.0.0.3:6000');
  f.advance(60_000);
  await f.srv.tick();
  assert.equal(f.calls.length, 3);
});

test('SrvUpstream: an unreachable target fails over to the next; a failing resolver keeps the last good set', async () => {
  const f = fixture([rec('one.example.net', 10, 1), rec('two.example.net', 20, 1)]);
  await f.srv.tick();
  assert.equal(f.srv.endpoint, 'tcp://10.0.0.1:5556');
  f.set(new Error('ESERVFAIL'));
  f.advance(9_999);
  assert.equal(f.srv.tick(), undefined, 'not yet failed over');
  f.advance(1);
  await f.srv.tick();
  assert.equal(f.srv.endpoint, 'tcp://10.0.0.2:5556', 'moved on to the next target from the last good lookup');
  assert.equal(f.lookups.get({ result: 'failed' }), 1);
  f.up.add('tcp://10.0.0.2:5556');
  // the resolver still fails on refresh: the connected target stays
  f.advance(60_000);
  await f.srv.tick();
  assert.equal(f.srv.endpoint, 'tcp://10.0.0.2:5556');
  assert.equal(f.lookups.get({ result: 'failed' }), 2);
  // back: the refresh returns to the best priority
  f.set([rec('one.example.net', 10, 1), rec('two.example.net', 20, 1)]);
  f.advance(60_000);
  await f.srv.tick();
  assert.equal(f.srv.endpoint, 'tcp://10.0.0.1:5556');
  // an empty answer is not a change
  f.set([rec('.', 0, 0)]);
  f.up.add('tcp://10.0.0.1:5556');
  f.advance(60_000);
  await f.srv.tick();
  assert.equal(f.srv.endpoint, 'tcp://10.0.0.1:5556');
  assert.equal(f.lookups.get({ result: 'empty' }), 1);
  f.srv.stop();
  assert.equal(f.calls.at(-1), '-tcp://10.0.0.1:5556');
});

test('SrvUpstream: no answer at first → retried, connected once the record appears', async () => {
  const f = fixture(new Error('ENOTFOUND'));
  await f.srv.tick();
  assert.deepEqual(f.calls, []);
  f.set([rec('one.example.net', 0, 0, 7000)]);
  f.advance(1_000);
  assert.equal(f.srv.tick(), undefined, 'a failed lookup is retried after max(1 s, failover), not at once');
  f.advance(9_000);
  await f.srv.tick();
  assert.deepEqual(f.calls, ['+tcp://10.0.0.1:7000']);
});

test('SrvUpstream: a socket that refuses the endpoint is logged, not thrown (the producer keeps running)', async () => {
  let tried = 0;
  const srv = new SrvUpstream({
    name: 'x', resolver: { resolveSrv: async () => [rec('bad name', 0, 0)], resolve4: async () => { throw new Error('no'); }, resolve6: async () => { throw new Error('no'); } },
    refreshMs: 1000, failoverMs: 1000, log: createLogger('test', { level: 'silent' }),
    sink: { connect: () => { tried++; throw new Error('Invalid argument'); }, disconnect: () => undefined, isConnected: () => false },
  });
  await srv.tick();
  assert.equal(tried, 1);
});

test('SrvUpstream: a huge answer keeps the first MAX_SRV_TARGETS targets, counted', async () => {
  const f = fixture(Array.from({ length: MAX_SRV_TARGETS + 10 }, (_, i) => rec(`10.1.0.${i}`, i, 1)));
  await f.srv.tick();
  assert.deepEqual(f.calls, ['+tcp://10.1.0.0:5556']);
  assert.equal(f.lookups.get({ result: 'truncated' }), 1);
  assert.equal(f.lookups.get({ result: 'ok' }), 1);
});
