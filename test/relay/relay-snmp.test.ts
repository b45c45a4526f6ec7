import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasProgram, missing } from '../agent/require.js';
import { deferrals, listAll, tempDir, until } from '../fixtures/blick.js';
import { serverProcess } from '../faults/processes.js';
import { freeUdpPort } from '../statsd/fixtures.js';
import { snmpTool } from './snmp-harness.js';
import { relayProcess } from './processes.js';

test('blick relay with relay.snmp.traps: a real snmptrap coldStart reaches the server as an snmp event, counted on the relay\'s /metrics', { timeout: 60_000 }, async (t) => {
  if (!(await hasProgram('snmptrap'))) return missing(t, 'snmptrap', 'apt-get install snmp');
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir);
  await srv.start();
  const port = await freeUdpPort();
  const relay = await relayProcess(defer, dir, 'relay-snmp', srv.ingest, ['  snmp:', `    traps: { listen: "127.0.0.1:${port}", communities: [public] }`]);
  await relay.start();
  const r = await snmpTool(dir, 'snmptrap', ['-v', '2c', '-c', 'public', `127.0.0.1:${port}`, '', '.1.3.6.1.6.3.1.1.5.1']);
  assert.equal(r.code, 0, r.stderr);
  const events = await until(async () => {
    const e = await listAll<{ host: string; service: string; source: string }>(srv.url, '/api/v1/events?host=127.0.0.1&limit=100');
    return e.length > 0 ? e : undefined;
  }, 'the trap at the server', 30_000, 200);
  assert.equal(events[0]!.source, 'snmp');
  assert.match(events[0]!.service, /coldStart/i);
  assert.ok((await relay.figure('blick_snmp_traps_total')) >= 1, 'the trap listener counts on the relay\'s registry');
  // a wrong community is refused and counted there too
  await snmpTool(dir, 'snmptrap', ['-v', '2c', '-c', 'wrong', `127.0.0.1:${port}`, '', '.1.3.6.1.6.3.1.1.5.1']);
  await until(async () => (await relay.figure('blick_snmp_traps_total{outcome="bad_community"}')) >= 1, 'the refusal counted on /metrics', 10_000);
});
