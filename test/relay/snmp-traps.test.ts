// issue #13 item 5: real `snmptrap` (Debian snmp) v1, v2c and v3 traps through
// the trap listener, a real Producer and a real server, read back over the API.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { createTrapListener, trapsConfigSchema, type TrapListener, type TrapsConfigInput } from '../../src/relay/snmp/traps/index.js';
import { hasProgram, missing } from '../agent/require.js';
import { listAll, metric, until } from '../fixtures/blick.js';
import { snmpHarness, snmpTool, type SnmpHarness } from './snmp-harness.js';

const USER = { name: 'bar', auth: { protocol: 'sha' as const, key: 'barauthpass' }, priv: { protocol: 'aes' as const, key: 'barprivpass' } };
const LINK_DOWN = '.1.3.6.1.6.3.1.1.5.3';
const LINK_UP = '.1.3.6.1.6.3.1.1.5.4';
const IF_INDEX = '.1.3.6.1.2.1.2.2.1.1';
const IF_ADMIN = '.1.3.6.1.2.1.2.2.1.7';
const IF_OPER = '.1.3.6.1.2.1.2.2.1.8';
const IF_NAME = '.1.3.6.1.2.1.31.1.1.1.1';
const V3 = ['-v', '3', '-u', 'bar', '-l', 'authPriv', '-a', 'SHA', '-A', 'barauthpass', '-x', 'AES', '-X', 'barprivpass'];

async function needSnmptrap(t: TestContext): Promise<boolean> {
  if (await hasProgram('snmptrap')) return true;
  missing(t, 'snmptrap', 'apt-get install snmp');
  return false;
}

async function listening(h: SnmpHarness, config: TrapsConfigInput): Promise<{ traps: TrapListener; target: string; trap: (args: string[]) => Promise<void>; count: (outcome: string) => number }> {
  const traps = createTrapListener(trapsConfigSchema.parse({ listen: '127.0.0.1:0', ...config }), h.deps);
  await traps.start();
  h.defer(() => traps.stop());
  const target = `127.0.0.1:${traps.address().port}`;
  return {
    traps,
    target,
    trap: async (args) => {
      const r = await snmpTool(h.dir, 'snmptrap', args);
      assert.equal(r.code, 0, `snmptrap ${args.join(' ')}: ${r.stderr}`);
    },
    count: (outcome) => metric(h.metrics.render(), `blick_snmp_traps_total{outcome="${outcome}"}`),
  };
}

const checkOf = async (h: SnmpHarness, host: string, service: string) =>
  (await listAll(h.base, `/api/v1/checks?host=${encodeURIComponent(host)}`)).find((c) => c.service === service);

test('v1, v2c and v3 (authPriv SHA/AES) traps from snmptrap arrive with host, service, state and attributes; linkDown then linkUp resolves the check', { timeout: 60_000 }, async (t) => {
  if (!(await needSnmptrap(t))) return;
  const h = await snmpHarness(t);
  const { target, trap } = await listening(h, { communities: ['public'], users: [USER] });

  // v2c linkDown on ifIndex 3 (RFC 2863 varbinds, plus ifName as many devices add)
  await trap(['-v', '2c', '-c', 'public', target, '', LINK_DOWN, `${IF_INDEX}.3`, 'i', '3', `${IF_ADMIN}.3`, 'i', '1', `${IF_OPER}.3`, 'i', '2', `${IF_NAME}.3`, 's', 'eth0']);
  const down = await until(() => checkOf(h, '127.0.0.1', 'link 3'), 'the v2c linkDown as a check');
  assert.equal(down.state, 'critical');
  assert.equal(down.source, 'snmp');
  const [ev] = await listAll(h.base, '/api/v1/events?host=127.0.0.1&service=link%203');
  assert.equal(ev.attributes.trap, 'linkDown');
  assert.equal(ev.attributes.snmp_version, '2c');
  assert.equal(ev.attributes.ifIndex, '3');
  assert.equal(ev.attributes.ifAdminStatus, 'up');
  assert.equal(ev.attributes.ifOperStatus, 'down');
  assert.equal(ev.attributes.ifName, 'eth0');
  assert.equal(ev.attributes.snmpTrapOID, '1.3.6.1.6.3.1.1.5.3');
  assert.match(ev.attributes.sysUpTime, /^\d+$/, 'TimeTicks as a number');

  // v3 authPriv linkUp on the same interface: the same check, now ok
  await trap([...V3, target, '', LINK_UP, `${IF_INDEX}.3`, 'i', '3', `${IF_ADMIN}.3`, 'i', '1', `${IF_OPER}.3`, 'i', '1']);
  const up = await until(async () => { const c = await checkOf(h, '127.0.0.1', 'link 3'); return c?.state === 'ok' ? c : undefined; }, 'linkUp resolving the link check');
  assert.equal(up.state, 'ok');
  const history = await listAll(h.base, '/api/v1/events?host=127.0.0.1&service=link%203');
  assert.deepEqual(history.map((e) => [e.state, e.attributes.trap, e.attributes.snmp_version]), [['ok', 'linkUp', '3'], ['critical', 'linkDown', '2c']]);
  assert.equal(history[0].attributes.user, 'bar');

  // v1 linkDown (generic-trap 2): the agent-addr field is the host, the service the same as for v2c
  await trap(['-v', '1', '-c', 'public', target, '.1.3.6.1.4.1.8072.3.2.10', '192.0.2.10', '2', '0', '', `${IF_INDEX}.7`, 'i', '7']);
  const v1 = await until(() => checkOf(h, '192.0.2.10', 'link 7'), 'the v1 linkDown under its agent-addr');
  assert.equal(v1.state, 'critical');
  const [v1ev] = await listAll(h.base, '/api/v1/events?host=192.0.2.10');
  assert.equal(v1ev.attributes.snmp_version, '1');
  assert.equal(v1ev.attributes.enterprise, '1.3.6.1.4.1.8072.3.2.10');
  assert.equal(v1ev.attributes.agent_address, '192.0.2.10');

  // an enterprise trap with a string and an OID: `trap <oid>`, default state, numeric attribute names
  await trap(['-v', '2c', '-c', 'public', target, '', '.1.3.6.1.4.1.8072.2.3.0.1', '.1.3.6.1.4.1.8072.2.3.2.1', 's', 'Grüße aus dem Rack', '.1.3.6.1.4.1.8072.2.3.2.2', 'x', '001A2B3C4D5E']);
  const ent = await until(() => checkOf(h, '127.0.0.1', 'trap 1.3.6.1.4.1.8072.2.3.0.1'), 'the enterprise trap');
  assert.equal(ent.state, 'warning');
  const [entev] = await listAll(h.base, `/api/v1/events?host=127.0.0.1&service=${encodeURIComponent('trap 1.3.6.1.4.1.8072.2.3.0.1')}`);
  assert.equal(entev.attributes['1.3.6.1.4.1.8072.2.3.2.1'], 'Grüße aus dem Rack');
  assert.equal(entev.attributes['1.3.6.1.4.1.8072.2.3.2.2'], '00:1a:2b:3c:4d:5e');
});

test('a wrong community, an unknown v3 user and wrong v3 auth or priv passwords are refused, counted, and nothing of them is stored', { timeout: 60_000 }, async (t) => {
  if (!(await needSnmptrap(t))) return;
  const h = await snmpHarness(t);
  const { target, trap, count } = await listening(h, { communities: ['public'], users: [USER] });
  const coldStart = (marker: string) => ['', '.1.3.6.1.6.3.1.1.5.1', '.1.3.6.1.2.1.1.5.0', 's', marker];

  await trap(['-v', '2c', '-c', 'private', target, ...coldStart('bad-community-v2c')]);
  await trap(['-v', '1', '-c', 'private', target, '.1.3.6.1.4.1.8072', '192.0.2.20', '0', '0', '', '.1.3.6.1.2.1.1.5.0', 's', 'bad-community-v1']);
  await until(() => count('bad_community') === 2, 'two bad_community refusals');

  await trap([...V3.map((a) => (a === 'barauthpass' ? 'wrongauthpass' : a)), target, ...coldStart('bad-auth')]);
  await trap([...V3.map((a) => (a === 'barprivpass' ? 'wrongprivpass' : a)), target, ...coldStart('bad-priv')]);
  await trap([...V3.map((a) => (a === 'bar' ? 'mallory' : a)), target, ...coldStart('bad-user')]);
  await trap(['-v', '3', '-u', 'bar', '-l', 'authNoPriv', '-a', 'SHA', '-A', 'barauthpass', target, ...coldStart('no-priv')]);
  await until(() => count('bad_user') === 4, 'four bad_user refusals');

  // a good trap after the refused ones: once it is stored, anything before it would be too
  await trap(['-v', '2c', '-c', 'public', target, ...coldStart('good')]);
  await until(() => checkOf(h, '127.0.0.1', 'trap coldStart'), 'the good coldStart');
  const stored = [...await listAll(h.base, '/api/v1/events?host=127.0.0.1'), ...await listAll(h.base, '/api/v1/events?host=192.0.2.20')];
  assert.deepEqual(stored.map((e) => e.attributes.sysName), ['good'], 'only the accepted trap is stored');
  assert.equal(count('accepted'), 1);
  assert.equal(count('malformed'), 0);
});

/** The packets snmptrap sends, caught on a plain UDP socket (to mutate them). */
async function capturePackets(h: SnmpHarness, argsFor: (target: string) => string[][]): Promise<Buffer[]> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (b) => got.push(b));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const target = `127.0.0.1:${sock.address().port}`;
  try {
    for (const args of argsFor(target)) await snmpTool(h.dir, 'snmptrap', args);
    await until(() => got.length >= argsFor(target).length, 'the captured trap packets');
  } finally { sock.close(); }
  return got;
}

test('fuzz: random bytes and mutated real trap packets never stop the listener; refusals are counted and a real trap still arrives', { timeout: 120_000 }, async (t) => {
  if (!(await needSnmptrap(t))) return;
  const h = await snmpHarness(t);
  const { traps, target, trap, count } = await listening(h, { communities: ['public'], users: [USER], limits: { max_traps_per_second: 1_000_000 } });
  const real = await capturePackets(h, (to) => [
    ['-v', '2c', '-c', 'public', to, '', LINK_DOWN, `${IF_INDEX}.3`, 'i', '3', `${IF_NAME}.3`, 's', 'eth0'],
    ['-v', '1', '-c', 'public', to, '.1.3.6.1.4.1.8072', '192.0.2.30', '6', '17', '', `${IF_INDEX}.3`, 'i', '3'],
    [...V3, to, '', LINK_UP, `${IF_INDEX}.3`, 'i', '3'],
  ]);
  const port = traps.address().port;
  const sender = dgram.createSocket('udp4');
  h.defer(() => sender.close());
  const send = (b: Uint8Array) => new Promise<void>((r) => sender.send(b, port, '127.0.0.1', () => r()));
  const mutate = fc.tuple(fc.nat(real.length - 1), fc.array(fc.tuple(fc.constantFrom('flip', 'set', 'cut', 'insert', 'delete'), fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }))
    .map(([i, ops]) => {
      let b = Buffer.from(real[i]!);
      for (const [op, at, v] of ops) {
        const p = b.length === 0 ? 0 : at % b.length;
        if (op === 'flip') b[p] = b[p]! ^ (1 << (v % 8));
        else if (op === 'set') b[p] = v;
        else if (op === 'cut') b = b.subarray(0, p);
        else if (op === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from([v]), b.subarray(p)]);
        else b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]);
      }
      return b;
    });
  const packets = [...fc.sample(mutate, { numRuns: 3000, seed: 13 }), ...Array.from({ length: 500 }, (_, i) => randomBytes(1 + (i * 37) % 1400))];
  packets.push(Buffer.alloc(0), Buffer.from([0x30]), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]));
  const outcomes = () => ['accepted', 'bad_community', 'bad_user', 'malformed', 'invalid', 'report', 'rate_limited'].reduce((sum, o) => sum + count(o), 0);
  // in chunks the socket's receive buffer holds, so that no datagram is lost before the listener sees it
  for (let i = 0; i < packets.length; i += 50) {
    for (const p of packets.slice(i, i + 50)) await send(p);
    await until(() => outcomes() >= Math.min(i + 50, packets.length), `the fuzz packets up to ${i + 50} counted`, 10_000, 5);
  }
  assert.equal(outcomes(), packets.length, 'every packet counted once, under one outcome');
  t.diagnostic(['accepted', 'bad_community', 'bad_user', 'malformed', 'invalid', 'report'].map((o) => `${o}=${count(o)}`).join(' '));
  assert.ok(count('malformed') > 500, `garbage is counted as malformed (${count('malformed')})`);
  assert.ok(count('bad_community') > 0 && count('bad_user') > 0, 'mutated communities and users are refused');

  // still listening, still answering
  await trap(['-v', '2c', '-c', 'public', target, '', '.1.3.6.1.6.3.1.1.5.2', '.1.3.6.1.2.1.1.5.0', 's', 'after-fuzz']);
  await until(async () => (await listAll(h.base, `/api/v1/events?service=${encodeURIComponent('trap warmStart')}`)).some((e) => e.attributes.sysName === 'after-fuzz'), 'a real trap after the fuzz');
});

test('over max_traps_per_second packets are dropped before decoding and counted', { timeout: 30_000 }, async (t) => {
  if (!(await needSnmptrap(t))) return;
  let now = 1_800_000_000_000;
  const h = await snmpHarness(t, { now: () => now });
  const { target, trap, count } = await listening(h, { communities: ['public'], limits: { max_traps_per_second: 2 } });
  for (let i = 0; i < 3; i++) await trap(['-v', '2c', '-c', 'public', target, '', '.1.3.6.1.6.3.1.1.5.1', '.1.3.6.1.2.1.1.5.0', 's', `burst-${i}`]);
  await until(() => count('accepted') + count('rate_limited') === 3, 'three traps counted');
  assert.equal(count('accepted'), 2);
  assert.equal(count('rate_limited'), 1);
  now += 1000; // a second later the bucket is full again
  await trap(['-v', '2c', '-c', 'public', target, '', '.1.3.6.1.6.3.1.1.5.1', '.1.3.6.1.2.1.1.5.0', 's', 'later']);
  await until(() => count('accepted') === 3, 'the trap a second later accepted');
});

/** A free UDP port on 127.0.0.1 (bound and released; the test starts its server on it at once). */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('resolve: true names the host by reverse DNS (dnsmasq on a loopback port); no name keeps the address', { timeout: 60_000 }, async (t) => {
  if (!(await needSnmptrap(t))) return;
  if (!(await hasProgram('dnsmasq'))) return missing(t, 'dnsmasq', 'apt-get install dnsmasq-base');
  const h = await snmpHarness(t);
  const dnsPort = await freeUdpPort();
  const dnsmasq = spawn('dnsmasq', ['--no-daemon', `--port=${dnsPort}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
    '--ptr-record=50.2.0.192.in-addr.arpa,sw-01.example.net', '--user=root', '--pid-file='], { stdio: ['ignore', 'ignore', 'pipe'] });
  let dnsErr = '';
  dnsmasq.stderr.on('data', (d) => { dnsErr += String(d); });
  h.defer(() => { dnsmasq.kill('SIGTERM'); });
  await until(() => dnsErr.includes('started') || dnsmasq.exitCode !== null, 'dnsmasq to start');
  assert.equal(dnsmasq.exitCode, null, dnsErr);
  const { target, trap } = await listening(h, { communities: ['public'], resolve: true, resolver: { servers: [`127.0.0.1:${dnsPort}`], timeout: '2s' } });
  // the agent named by snmpTrapAddress.0 (a trap forwarded by a proxy; 127.0.0.1 is in /etc/hosts, which c-ares reads first)
  await trap(['-v', '2c', '-c', 'public', target, '', LINK_DOWN, `${IF_INDEX}.5`, 'i', '5', '.1.3.6.1.6.3.18.1.3.0', 'a', '192.0.2.50']);
  const c = await until(() => checkOf(h, 'sw-01.example.net', 'link 5'), 'the trap under the resolved name');
  assert.equal(c.state, 'critical');
  const [ev] = await listAll(h.base, '/api/v1/events?host=sw-01.example.net');
  assert.equal(ev.attributes.agent_address, '192.0.2.50', 'the address stays in the attributes');
  // v1 agent-addr without a PTR record: the address is the host
  await trap(['-v', '1', '-c', 'public', target, '.1.3.6.1.4.1.8072', '192.0.2.40', '0', '0', '']);
  await until(() => checkOf(h, '192.0.2.40', 'trap coldStart'), 'the unnamed address as host');
  assert.ok(metric(h.metrics.render(), 'blick_snmp_trap_resolve_total{outcome="resolved"}') >= 1);
});

test('a port that is taken stops start-up with an error naming relay.snmp.traps and the address', async (t) => {
  const h = await snmpHarness(t);
  const taken = dgram.createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
  h.defer(() => taken.close());
  const listen = `127.0.0.1:${taken.address().port}`;
  const traps = createTrapListener(trapsConfigSchema.parse({ listen, communities: ['public'] }), h.deps);
  await assert.rejects(traps.start(), (err: Error & { code?: string }) => err.code === 'COMPONENT_FAILED' && err.message.includes(`relay.snmp.traps cannot listen on ${listen}`));
  await traps.stop();
});

test('informs (v2c, and v3 with engine discovery) are acknowledged to snmpinform and arrive as events', { timeout: 60_000 }, async (t) => {
  if (!(await needSnmptrap(t))) return;
  const h = await snmpHarness(t);
  const { target, count } = await listening(h, { communities: ['public'], users: [USER] });
  const inform = async (args: string[]) => {
    const r = await snmpTool(h.dir, 'snmpinform', ['-t', '5', '-r', '1', ...args]);
    assert.equal(r.code, 0, `snmpinform (no acknowledgement?): ${r.stderr}`);
  };
  await inform(['-v', '2c', '-c', 'public', target, '', '.1.3.6.1.6.3.1.1.5.1', '.1.3.6.1.2.1.1.5.0', 's', 'inform-v2c']);
  await inform([...V3, target, '', '.1.3.6.1.6.3.1.1.5.1', '.1.3.6.1.2.1.1.5.0', 's', 'inform-v3']);
  const events = await until(async () => { const e = await listAll(h.base, '/api/v1/events?service=trap%20coldStart'); return e.length === 2 ? e : undefined; }, 'both informs stored');
  assert.deepEqual(events.map((e) => [e.attributes.sysName, e.attributes.snmp_version]).sort(), [['inform-v2c', '2c'], ['inform-v3', '3']]);
  assert.equal(count('accepted'), 2);
  assert.ok(count('report') >= 1, 'the v3 discovery answered with a report');
});

test('a DES user on a Node.js without DES stops start-up naming the key, instead of refusing every trap', async (t) => {
  let des = true;
  try { createCipheriv('des-cbc', Buffer.alloc(8), Buffer.alloc(8)); } catch { des = false; }
  if (des) return t.skip('this Node.js has DES (--openssl-legacy-provider)');
  const h = await snmpHarness(t);
  const traps = createTrapListener(trapsConfigSchema.parse({ listen: '127.0.0.1:0', users: [USER, { ...USER, name: 'old', priv: { protocol: 'des', key: 'oldprivpass' } }] }), h.deps);
  await assert.rejects(traps.start(), (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && err.message.includes('relay.snmp.traps.users.1.priv.protocol: des is not available'));
  await traps.stop();
});
