// issue #13 item 6: a real `blick relay` process polling a real Debian snmpd (v2c and v3 authPriv),
// its events forwarded to a real server and read back through the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { deferrals, listAll, runBlick, startServer, tempDir, until } from '../fixtures/blick.js';
import { hasProgram, missing } from '../agent/require.js';
import { relayProcess } from './processes.js';
import { snmpd, V3_USER } from './snmp-poll-harness.js';

interface Check { host: string; service: string; state?: string; metric?: number; description: string; source: string; attributes: Record<string, string> }

const checksOf = async (base: string, host: string): Promise<Map<string, Check>> =>
  new Map((await listAll<Check>(base, `/api/v1/checks?host=${encodeURIComponent(host)}`)).map((c) => [c.service, c]));

/** Blast `bytes` of UDP at a closed port on loopback: traffic the poller must see on `lo` as bits/s. */
async function loopbackTraffic(bytes: number): Promise<void> {
  const s = createSocket('udp4');
  s.on('error', () => undefined); // ECONNREFUSED from the closed port
  const chunk = Buffer.alloc(60_000);
  for (let sent = 0; sent < bytes; sent += chunk.length) await new Promise<void>((resolve) => s.send(chunk, 9, '127.0.0.1', () => resolve()));
  s.close();
}

test('blick relay polling a real snmpd: uptime, interface state and traffic in bits/s, an OID with thresholds (v2c and v3 authPriv); snmpd SIGKILLed → critical `snmp`, restarted → ok and `snmp restart`', async (t) => {
  if (!(await hasProgram('snmpd'))) return missing(t, 'snmpd', 'apt-get install -y snmpd');
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir('blick-snmp-poll-');
  defer(cleanup);
  const agent = await snmpd(defer, dir);
  await agent.start();
  const server = await startServer({ dataDir: dir });
  defer(() => server.stop());

  const common = { address: '127.0.0.1', port: agent.port, interval: '500ms', timeout: '400ms', retries: 0, interfaces: true,
    oids: [{ oid: '.1.3.6.1.2.1.1.7.0', service: 'snmp sysServices', warning: 50, critical: 100 }] };
  const devices = [
    { ...common, host: 'sw-v2c', version: '2c', community: 'public' },
    { ...common, host: 'sw-v3', version: 3, user: V3_USER },
    { ...common, host: 'sw-badkey', version: 3, user: { ...V3_USER, auth: { protocol: 'sha', key: 'not-the-auth-key' } }, interfaces: false, oids: [] },
    { ...common, host: 'sw-badcommunity', version: '2c', community: 'private', interfaces: false, oids: [] },
  ];
  const relay = await relayProcess(defer, dir, 'relay-snmp', server.receiver.endpoint, [
    '  snmp:',
    // fewer places than devices: the bound is exercised, and every device is still polled
    '    max_in_flight: 2',
    '    devices:',
    ...devices.map((d) => `      - ${JSON.stringify(d)}`),
  ]);
  await relay.start();
  const base = server.url;

  for (const host of ['sw-v2c', 'sw-v3']) {
    const checks = await until(async () => {
      const c = await checksOf(base, host);
      return c.get('snmp')?.state === 'ok' && c.get('snmp uptime') && c.get('link 1') && c.get('link 1 in_bps') && c.get('link 1 out_errors') ? c : undefined;
    }, `${host}: snmp ok, uptime, link 1 state and rates`, 20_000);
    const uptime = checks.get('snmp uptime')!;
    assert.equal(uptime.source, 'snmp');
    assert.ok(uptime.metric! > 0 && uptime.metric! < 3600, `snmpd's own uptime in seconds: ${uptime.metric}`);
    assert.equal(uptime.attributes.unit, 's');
    const link = checks.get('link 1')!;
    assert.equal(link.state, 'ok', link.description); // lo is up
    assert.equal(link.attributes.ifName, 'lo');
    assert.equal(link.attributes.ifOperStatus, 'up');
    const inBps = checks.get('link 1 in_bps')!;
    assert.equal(inBps.attributes.unit, 'bits/s');
    assert.ok(inBps.metric! >= 0, `a rate: ${inBps.metric}`);
    assert.equal(checks.get('link 1 out_errors')!.attributes.unit, 'errors/s');
    const sys = checks.get('snmp sysServices')!;
    assert.equal(sys.metric, 72);
    assert.equal(sys.state, 'warning', 'sysServices 72 is above warning 50 and below critical 100');
  }

  // 40 MB over lo: the in_bps events of lo, integrated over the time between them, account for at
  // least its 320 Mbit (bytes per second, or a counter's total, would not add up to that)
  // (snmpd refreshes its interface counters every few seconds, so single rates are jagged: their sum is not)
  const burstAt = Date.now();
  await loopbackTraffic(40_000_000);
  const integrated = async (): Promise<number> => {
    const evs = (await listAll<Check & { time: number }>(base, `/api/v1/events?host=sw-v2c&service=${encodeURIComponent('link 1 in_bps')}&since=${burstAt - 5000}&limit=1000`)).sort((a, b) => a.time - b.time);
    let bits = 0;
    for (let i = 1; i < evs.length; i++) if (evs[i]!.time > burstAt) bits += evs[i]!.metric! * (evs[i]!.time - evs[i - 1]!.time) / 1000;
    return bits;
  };
  await until(async () => (await integrated()) >= 0.9 * 8 * 40_000_000, 'lo\'s in_bps since the burst adding up to its 320 Mbit', 20_000);

  // wrong v3 key: refused; wrong community: snmpd stays silent
  const bad = await until(async () => {
    const k = (await checksOf(base, 'sw-badkey')).get('snmp');
    const c = (await checksOf(base, 'sw-badcommunity')).get('snmp');
    return k?.state === 'critical' && c?.state === 'critical' ? { k, c } : undefined;
  }, 'the devices with wrong credentials critical');
  assert.match(bad.k.description, /refused the credentials/);
  assert.match(bad.c.description, /no answer from 127\.0\.0\.1:\d+/);

  await agent.kill();
  for (const host of ['sw-v2c', 'sw-v3']) {
    const c = await until(async () => {
      const s = (await checksOf(base, host)).get('snmp');
      return s?.state === 'critical' ? s : undefined;
    }, `${host}: snmp critical after SIGKILL`, 20_000);
    assert.match(c.description, /no answer from 127\.0\.0\.1:\d+ \(SNMP v(2c|3), timeout 400 ms, 0 retries/);
  }

  await agent.start();
  for (const host of ['sw-v2c', 'sw-v3']) {
    await until(async () => (await checksOf(base, host)).get('snmp')?.state === 'ok', `${host}: snmp ok after the restart`, 20_000);
    // snmpd's sysUpTime started again: the restart is reported, then ok at the next poll
    const restarts = await until(async () => {
      const evs = await listAll<Check>(base, `/api/v1/events?host=${host}&service=${encodeURIComponent('snmp restart')}`);
      return evs.some((e) => e.state === 'warning') && evs[0]!.state === 'ok' ? evs : undefined;
    }, `${host}: snmp restart warning, then ok`, 20_000);
    assert.match(restarts.find((e) => e.state === 'warning')!.description, /the device restarted: sysUpTime went from/);
  }

  // the relay's /metrics counts the polls by outcome
  for (const outcome of ['ok', 'timeout', 'auth']) assert.ok(await relay.figure(`blick_snmp_polls_total{outcome="${outcome}"}`) > 0, `${outcome} polls counted`);
});

test('check-config refuses bad relay.snmp keys with FILE:LINE: v3 without a user, a named OID, a bad interval, max_in_flight 0, a host polled twice', async (t) => {
  const { dir, cleanup } = tempDir();
  deferrals(t)(cleanup);
  const file = join(dir, 'blick.yaml');
  writeFileSync(file, `relay:
  snmp:
    max_in_flight: 0
    devices:
      - host: sw-01
        address: 10.0.0.2
        version: 3
      - host: sw-02
        address: 10.0.0.3
        oids:
          - { oid: sysUpTime.0, service: uptime }
        interval: 5 minutes
`);
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /blick\.yaml:5: key relay\.snmp\.devices\.0\.user: version 3 needs a user/);
  assert.match(r.stderr, /blick\.yaml:11: key relay\.snmp\.devices\.1\.oids\.0\.oid: must be a numeric OID/);
  assert.match(r.stderr, /blick\.yaml:12: key relay\.snmp\.devices\.1\.interval: "5 minutes" is not a duration/);
  assert.match(r.stderr, /blick\.yaml:3: key relay\.snmp\.max_in_flight:/);

  writeFileSync(file, `relay:
  snmp:
    devices:
      - { host: sw-01, address: 10.0.0.2 }
      - { host: sw-01, address: 10.0.0.3 }
`);
  const twice = await runBlick(['check-config', file]);
  assert.equal(twice.code, 2, twice.stdout + twice.stderr);
  assert.match(twice.stderr, /blick\.yaml:5: key relay\.snmp\.devices\.1\.host: host "sw-01" is polled twice/);
});
