import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeEvent, type EventInput } from '../../src/core/event.js';
import { createLogger } from '../../src/core/log.js';
import { Registry } from '../../src/core/metrics.js';
import type { SourceDeps } from '../../src/relay/snmp/source.js';
import type { BlickServer } from '../../src/server/index.js';
import { Producer } from '../../src/transport/producer.js';
import { deferrals, startServer, tempDir } from '../fixtures/blick.js';

/**
 * What the relay gives an SNMP source, built from real parts until `blick
 * relay` exists: a real server (ephemeral ports, its own data directory), a
 * real Producer connected to its ingest, and `deps.emit` stamping
 * `source: snmp` the way the relay does. The trap listener's and the poller's
 * tests share it; both read their counters from `metrics` (what the relay
 * serves on /metrics).
 */
export interface SnmpHarness {
  server: BlickServer;
  /** the server's HTTP base, e.g. http://127.0.0.1:41234 */
  base: string;
  deps: SourceDeps;
  metrics: Registry;
  /** every event handed to `emit`, in order */
  emitted: EventInput[];
  /** a directory removed after the test */
  dir: string;
  defer: (fn: () => unknown) => void;
}

/** A server, a producer to it, and SourceDeps whose `emit` sends through the producer; all stopped after the test. */
export async function snmpHarness(t: { after(fn: () => unknown): void }, opts: { now?: () => number } = {}): Promise<SnmpHarness> {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir('blick-snmp-');
  defer(cleanup);
  const server = await startServer({ dataDir: join(dir, 'server') });
  defer(() => server.stop());
  const metrics = new Registry();
  const log = createLogger('relay', { level: process.env.BLICK_LOG_LEVEL ?? 'silent' });
  const producer = new Producer({ upstreams: [server.receiver.endpoint], spoolDir: join(dir, 'spool'), producer: 'relay-test', log, metrics });
  await producer.start();
  defer(() => producer.stop());
  const emitted: EventInput[] = [];
  const deps: SourceDeps = {
    emit: (e) => { emitted.push(e); producer.send(makeEvent(e, { source: 'snmp', ...(opts.now ? { now: opts.now } : {}) })); },
    log,
    metrics,
    ...(opts.now ? { now: opts.now } : {}),
  };
  return { server, base: server.url, deps, metrics, emitted, dir, defer };
}

/**
 * Run Debian's `snmptrap` (or another net-snmp tool) without a shell, without
 * MIB files (`-m ''`), and with its configuration and persistent state in
 * `dir` so that the user's ~/.snmp is neither read nor written.
 */
export function snmpTool(dir: string, program: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = join(dir, 'net-snmp');
  mkdirSync(home, { recursive: true });
  return new Promise((resolve) => {
    execFile(program, ['-m', '', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MIBS: '', SNMPCONFPATH: home, SNMP_PERSISTENT_DIR: home, HOME: home },
      timeout: 20_000,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
