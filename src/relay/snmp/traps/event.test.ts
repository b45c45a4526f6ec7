import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EVENT_LIMITS, makeEvent } from '../../../core/event.js';
import { oidName, v1TrapOid } from '../mib.js';
import { trapsConfigSchema } from './config.js';
import { cutBytes, renderOctets, renderValue, type Varbind } from '../values.js';
import { trapToEvent, type Notification } from './event.js';

const config = trapsConfigSchema.parse({ communities: ['public'] });
const rinfo = { address: '192.0.2.7', port: 40000 };
const v2 = (varbinds: Varbind[], extra: Partial<Notification['pdu']> = {}): Notification => ({ pdu: { type: 167, varbinds, community: 'public', ...extra }, rinfo });
const trapOid = (oid: string): Varbind => ({ oid: '1.3.6.1.6.3.1.1.4.1.0', type: 6, value: oid });
const int = (oid: string, value: number): Varbind => ({ oid, type: 2, value });

test('MIB-II names: longest known prefix, with the instance', () => {
  assert.deepEqual(oidName('1.3.6.1.2.1.2.2.1.8.3'), { name: 'ifOperStatus', instance: '3' });
  assert.deepEqual(oidName('.1.3.6.1.2.1.1.3.0'), { name: 'sysUpTime', instance: '0' });
  assert.deepEqual(oidName('1.3.6.1.2.1.31.1.1.1.1.12'), { name: 'ifName', instance: '12' });
  assert.equal(oidName('1.3.6.1.4.1.8072.2.3.0.1'), undefined);
  assert.equal(v1TrapOid('1.3.6.1.4.1.8072', 2, 0), '1.3.6.1.6.3.1.1.5.3', 'generic 2 is linkDown');
  assert.equal(v1TrapOid('.1.3.6.1.4.1.8072.4', 6, 17), '1.3.6.1.4.1.8072.4.0.17', 'RFC 3584: enterprise.0.specific');
});

test('linkDown is critical and linkUp ok on the same service `link <ifIndex>`; link_service name uses ifName', () => {
  const vbs = (t: string) => [trapOid(t), int('1.3.6.1.2.1.2.2.1.1.3', 3), int('1.3.6.1.2.1.2.2.1.8.3', t.endsWith('3') ? 2 : 1), { oid: '1.3.6.1.2.1.31.1.1.1.1.3', type: 4, value: Buffer.from('eth0') }];
  const down = trapToEvent(v2(vbs('1.3.6.1.6.3.1.1.5.3')), config, 1000).event;
  const up = trapToEvent(v2(vbs('1.3.6.1.6.3.1.1.5.4')), config, 1000).event;
  assert.equal(down.service, 'link 3');
  assert.equal(up.service, 'link 3');
  assert.equal(down.state, 'critical');
  assert.equal(up.state, 'ok');
  assert.equal(down.attributes.ifOperStatus, 'down');
  assert.equal(up.attributes.ifOperStatus, 'up');
  assert.equal(down.host, '192.0.2.7');
  const byName = trapToEvent(v2(vbs('1.3.6.1.6.3.1.1.5.3')), { ...config, link_service: 'name' }, 1000).event;
  assert.equal(byName.service, 'link eth0');
  // no ifIndex varbind: the index is the instance of the interface columns
  const noIndex = trapToEvent(v2([trapOid('1.3.6.1.6.3.1.1.5.3'), int('1.3.6.1.2.1.2.2.1.8.7', 2)]), config, 1000).event;
  assert.equal(noIndex.service, 'link 7');
});

test('v1 traps: the agent-addr field is the host, generic traps name the same services as v2c', () => {
  const n: Notification = { pdu: { type: 164, enterprise: '1.3.6.1.4.1.8072', agentAddr: '10.0.0.2', generic: 0, specific: 0, upTime: 1234, varbinds: [], community: 'public' }, rinfo };
  const { event } = trapToEvent(n, config, 1);
  assert.equal(event.host, '10.0.0.2');
  assert.equal(event.service, 'trap coldStart');
  assert.equal(event.state, 'warning');
  assert.equal(event.attributes.sysUpTime, '1234');
  assert.equal(event.attributes.snmp_version, '1');
  // 0.0.0.0 is no address: the UDP source is
  assert.equal(trapToEvent({ ...n, pdu: { ...n.pdu, agentAddr: '0.0.0.0' } }, config, 1).event.host, '192.0.2.7');
});

test('v2c: snmpTrapAddress.0 names the agent (a trap forwarded by a proxy)', () => {
  const { event } = trapToEvent(v2([trapOid('1.3.6.1.6.3.1.1.5.1'), { oid: '1.3.6.1.6.3.18.1.3.0', type: 64, value: '10.9.8.7' }]), config, 1);
  assert.equal(event.host, '10.9.8.7');
  assert.equal(event.attributes.snmpTrapAddress, '10.9.8.7');
});

test('the map gives enterprise traps a service (with {attribute} placeholders) and a state', () => {
  const m = trapsConfigSchema.parse({ map: { '.1.3.6.1.4.1.9.9.41.2.0.1': { service: 'syslog {1.3.6.1.4.1.9.9.41.1.2.3.1.2.5}', state: 'critical' }, '1.3.6.1.6.3.1.1.5.1': { state: 'ok' } } });
  const { event } = trapToEvent(v2([trapOid('1.3.6.1.4.1.9.9.41.2.0.1'), { oid: '1.3.6.1.4.1.9.9.41.1.2.3.1.2.5', type: 4, value: Buffer.from('LINK') }]), m, 1);
  assert.equal(event.service, 'syslog LINK');
  assert.equal(event.state, 'critical');
  const cold = trapToEvent(v2([trapOid('1.3.6.1.6.3.1.1.5.1')]), m, 1).event;
  assert.equal(cold.service, 'trap coldStart');
  assert.equal(cold.state, 'ok');
  const other = trapToEvent(v2([trapOid('1.3.6.1.4.1.8072.2.3.0.1')]), m, 1).event;
  assert.equal(other.service, 'trap 1.3.6.1.4.1.8072.2.3.0.1');
  assert.equal(other.state, 'warning');
});

test('values are readable: printable UTF-8 as text, binary as hex, Counter64 in full, TimeTicks as a number', () => {
  assert.equal(renderOctets(Buffer.from('Grüße')), 'Grüße');
  assert.equal(renderOctets(Buffer.from([0x00, 0x1a, 0x2b, 0xff])), '00:1a:2b:ff');
  assert.equal(renderOctets(Buffer.from([0xc2, 0x85])), 'c2:85', 'a C1 control is not printable');
  assert.equal(renderValue({ oid: '1', type: 70, value: Buffer.from('ffffffffffffffff', 'hex') }), '18446744073709551615');
  assert.equal(renderValue({ oid: '1', type: 67, value: 4242 }), '4242');
  assert.equal(renderValue({ oid: '1', type: 64, value: '10.0.0.1' }), '10.0.0.1');
  assert.equal(renderValue({ oid: '1', type: 2, value: 2 }, 'ifAdminStatus'), 'down');
  assert.equal(renderValue({ oid: '1', type: 2, value: 99 }, 'ifAdminStatus'), '99');
  assert.equal(cutBytes('ééééé', 8), 'éé…');
  assert.equal(Buffer.byteLength(cutBytes('x'.repeat(5000), 1024)), 1024);
});

test('a second varbind of the same name is kept as name.instance; over max_varbinds is dropped and counted', () => {
  const { event } = trapToEvent(v2([trapOid('1.3.6.1.4.1.1.0.1'), int('1.3.6.1.2.1.2.2.1.1.1', 1), int('1.3.6.1.2.1.2.2.1.1.2', 2)]), config, 1);
  assert.equal(event.attributes.ifIndex, '1');
  assert.equal(event.attributes['ifIndex.2'], '2');
  const small = trapsConfigSchema.parse({ limits: { max_varbinds: 2 } });
  const r = trapToEvent(v2([trapOid('1.3.6.1.4.1.1.0.1'), int('1.3.6.1.4.1.1.1', 1), int('1.3.6.1.4.1.1.2', 2)]), small, 1);
  assert.equal(r.dropped, 1);
  assert.equal(r.event.attributes.varbinds_dropped, '1');
});

/** text made of what names must not hold: controls, C1, a lone surrogate, placeholder braces */
const nasty = fc.string({ maxLength: 40, unit: fc.constantFrom('a', ' ', '\u0000', '\t', '\n', '\u001f', '\u007f', '\u0085', '\ud800', 'é', '{', '}') });
const arbVarbind: fc.Arbitrary<Varbind> = fc.record({
  oid: fc.oneof(
    fc.array(fc.nat(100_000), { minLength: 1, maxLength: 200 }).map((a) => a.join('.')),
    fc.constantFrom('1.3.6.1.2.1.2.2.1.1.3', '1.3.6.1.2.1.31.1.1.1.1.3', '1.3.6.1.6.3.1.1.4.1.0', '1.3.6.1.6.3.18.1.3.0', '1.3.6.1.2.1.2.2.1.8.3'),
  ),
  type: fc.constantFrom(1, 2, 3, 4, 5, 6, 64, 65, 66, 67, 68, 70, 128, 129, 130),
  value: fc.oneof(fc.integer(), fc.uint8Array({ maxLength: 20_000 }), fc.string({ maxLength: 300, unit: 'binary' }), nasty, fc.constant(null), fc.boolean()),
});

test('property: any decoded PDU becomes an event that makeEvent accepts, within EVENT_LIMITS', () => {
  fc.assert(fc.property(
    fc.array(arbVarbind, { maxLength: 120 }),
    fc.constantFrom('1.3.6.1.6.3.1.1.5.1', '1.3.6.1.6.3.1.1.5.3', '1.3.6.1.6.3.1.1.5.4', '1.3.6.1.4.1.9.0.1'),
    fc.constantFrom(164, 166, 167),
    fc.option(fc.string({ maxLength: 300, unit: 'binary' })),
    fc.record({ generic: fc.integer({ min: -1, max: 9 }), specific: fc.integer(), agentAddr: fc.oneof(fc.ipV4(), fc.string()) }),
    (rest, oid, type, user, v1) => {
      // the trap OID first (where agents put it), then anything, ifName and ifIndex included
      const varbinds = [trapOid(oid), ...rest];
      const map = trapsConfigSchema.parse({ map: { '1.3.6.1.6.3.1.1.5.1': { service: '{ifName} {nope} {1.3.6.1.2.1.2.2.1.1.3}' } } }).map;
      const n: Notification = { pdu: { type, varbinds, ...(user !== null ? { user } : {}), enterprise: '1.3.6.1.4.1.8072', upTime: 5, ...v1 }, rinfo };
      const { event } = trapToEvent(n, { ...config, map }, 1_700_000_000_000);
      const e = makeEvent(event, { source: 'snmp' });
      assert.ok(Object.keys(e.attributes).length <= EVENT_LIMITS.attributes);
      for (const v of Object.values(e.attributes)) assert.ok(Buffer.byteLength(v) <= config.limits.max_value_bytes);
    },
  ), { numRuns: 300 });
});
