import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { agentProcess, deferrals, exited, listAll, startServer, tempDir, until } from '../fixtures/blick.js';
import { hasProgram, missing } from '../agent/require.js';

const NAME = '_blick._tcp.example.net';

/** A free UDP port on loopback (dnsmasq binds it right after; a clash is retried by the caller). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Real dnsmasq on a loopback port serving one SRV record for NAME that points
 * at 127.0.0.1:`target` (REAL-PARTS.md "DNS SRV records"); the machine's
 * resolver is not touched. Resolves once it answers.
 */
async function dnsmasq(port: number, target: number, backup?: number): Promise<ChildProcess & { output(): string }> {
  const child = spawn('dnsmasq', [
    '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
    '--pid-file', '--conf-file=/dev/null', `--srv-host=${NAME},srv.example.net,${target},0,10`, '--host-record=srv.example.net,127.0.0.1',
    // a second target of a lower priority (a higher number): tried only when the first is unreachable
    ...(backup !== undefined ? [`--srv-host=${NAME},backup.example.net,${backup},10,10`, '--host-record=backup.example.net,127.0.0.1'] : []),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => { out += b; });
  child.stderr!.on('data', (b) => { out += b; });
  const p = Object.assign(child, { output: () => out });
  const { Resolver } = await import('node:dns/promises');
  const r = new Resolver({ timeout: 200, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${out}`);
    try { return (await r.resolveSrv(NAME))[0]?.port === target; } catch { return false; }
  }, `dnsmasq answering on ${port}`);
  return p;
}

const portOf = (endpoint: string) => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
const heartbeats = (base: string) => listAll(base, '/api/v1/events?host=srv-agent&service=heartbeat&limit=1000');

/** Two real servers in a temporary directory (stopped after the test unless `stop()`ped before) and a free port for dnsmasq. */
async function twoServers(t: { after(fn: () => unknown): void }) {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const servers = [];
  for (const name of ['a', 'b']) {
    const server = await startServer({ dataDir: `${dir}/${name}` });
    let running = true;
    defer(() => (running ? server.stop() : undefined));
    servers.push(Object.assign(server, { port: portOf(server.receiver.endpoint), halt: async () => { running = false; await server.stop(); } }));
  }
  return { defer, dir, a: servers[0]!, b: servers[1]!, port: await freeUdpPort() };
}

test('a real agent finds its server through a DNS SRV record (real dnsmasq) and follows a change of the record', async (t) => {
  if (!(await hasProgram('dnsmasq'))) return missing(t, 'dnsmasq', 'apt-get install dnsmasq-base');
  const { defer, dir, a: first, b: second, port } = await twoServers(t);
  let dns = await dnsmasq(port, first.port);
  defer(async () => { dns.kill('SIGTERM'); await exited(dns); });

  const agent = agentProcess(defer, dir, { host: 'srv-agent', upstream: `srv+tcp://${NAME}` });
  // the documented override of the top-level dns: section; refresh quickly so that the test sees the change
  const proc = agent.start({ BLICK_DNS_SERVERS: `[127.0.0.1:${port}]`, BLICK_DNS_REFRESH: '1s' });

  await until(async () => (await heartbeats(first.url)).length > 0, 'the agent\'s heartbeats at the first server (found through SRV)', 20_000).catch((err) => { throw new Error(`${err.message}\nagent output: ${proc.output()}`); });

  // the record now names the second server; the first one keeps running (only the record changed)
  dns.kill('SIGTERM');
  await exited(dns);
  dns = await dnsmasq(port, second.port);
  await until(async () => (await heartbeats(second.url)).length >= 2, 'the agent\'s heartbeats at the second server after the record changed', 20_000);
  // and it left the first one: no more heartbeats arrive there
  const atFirst = (await heartbeats(first.url)).length;
  const atSecond = (await heartbeats(second.url)).length;
  await until(async () => (await heartbeats(second.url)).length >= atSecond + 3, 'more heartbeats at the second server', 20_000);
  assert.ok((await heartbeats(first.url)).length <= atFirst + 1, 'the first server gets no more heartbeats once the agent moved (one may have been in flight)');
});

test('an SRV upstream: the agent uses the best priority and fails over to the next target when it is unreachable', async (t) => {
  if (!(await hasProgram('dnsmasq'))) return missing(t, 'dnsmasq', 'apt-get install dnsmasq-base');
  const { defer, dir, a: best, b: backup, port } = await twoServers(t);
  const dns = await dnsmasq(port, best.port, backup.port);
  defer(async () => { dns.kill('SIGTERM'); await exited(dns); });

  const agent = agentProcess(defer, dir, { host: 'srv-agent', upstream: `srv+tcp://${NAME}` });
  const proc = agent.start({ BLICK_DNS_SERVERS: `[127.0.0.1:${port}]`, BLICK_DNS_FAILOVER: '1s' });
  await until(async () => (await heartbeats(best.url)).length >= 2, 'heartbeats at the priority-0 target', 20_000).catch((err) => { throw new Error(`${err.message}\nagent output: ${proc.output()}`); });
  assert.equal((await heartbeats(backup.url)).length, 0, 'the priority-10 target gets nothing while the first is up');
  // the first target goes away; the record does not change
  await best.halt();
  await until(async () => (await heartbeats(backup.url)).length >= 2, 'heartbeats at the priority-10 target after the first became unreachable', 20_000).catch((err) => { throw new Error(`${err.message}\nagent output: ${proc.output()}`); });
});
