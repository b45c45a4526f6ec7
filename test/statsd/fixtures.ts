// Shared fixtures of the statsd integration tests and benchmark: Etsy's statsd
// as a child process, a loopback "carbon" that records lines, free ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEtsyConfig } from '../../src/statsd/etsy-file.js';
import { inCI } from '../fixtures/ci.js';

const require = createRequire(import.meta.url);

/** Path of Etsy statsd's entry point (the `statsd` devDependency). */
export const ETSY_STATSD = require.resolve('statsd/stats.js');

export interface Line { path: string; value: string; ts: number; at: number; conn: number }

/** A TCP listener that records Graphite plaintext lines, as carbon would receive them. */
export async function lineListener(port = 0, opts: { onLine?: (line: Line) => void; keep?: boolean } = {}): Promise<{ port: number; lines: Line[]; close(): Promise<void> }> {
  const lines: Line[] = [];
  const sockets = new Set<Socket>();
  let conns = 0;
  const server: Server = createServer((s) => {
    const conn = ++conns;
    sockets.add(s);
    s.setEncoding('utf8');
    let buf = '';
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [path, value, ts] = l.split(' ');
        const line = { path: path!, value: value!, ts: Number(ts), at: Date.now(), conn };
        if (opts.keep !== false) lines.push(line);
        opts.onLine?.(line);
      }
    });
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    lines,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** A free UDP port on 127.0.0.1 (bound then released; for programs that cannot bind 0). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export interface EtsyProcess { udpPort: number; mgmtPort: number; child: ChildProcess; output: () => string; stop(): Promise<void> }

/**
 * Start Etsy's statsd with `config` (plus its ports) and wait for "server is up".
 */
export async function startEtsy(config: Record<string, unknown>): Promise<EtsyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'blick-etsy-'));
  const udpPort = await freeUdpPort();
  const mgmtPort = await freeTcpPort();
  const file = join(dir, 'config.js');
  writeFileSync(file, JSON.stringify({ address: '127.0.0.1', port: udpPort, mgmt_address: '127.0.0.1', mgmt_port: mgmtPort, automaticConfigReload: false, ...config }, null, 2));
  const child = spawn(process.execPath, [ETSY_STATSD, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.length > 1e6) out = out.slice(-5e5); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Etsy statsd did not start within 10 s; output:\n${out}`)), 10_000);
    const check = () => { if (out.includes('server is up')) { clearTimeout(t); resolve(); } };
    child.stdout!.on('data', check);
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`Etsy statsd exited with ${code}:\n${out}`)); });
  });
  child.removeAllListeners('exit');
  // "server is up" is logged before the management port has finished binding
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((r) => { const c = connect(mgmtPort, '127.0.0.1', () => { c.end(); r(true); }); c.on('error', () => r(false)); });
    if (ok) break;
    if (i > 100) throw new Error(`Etsy statsd's management port ${mgmtPort} never opened`);
    await sleep(20);
  }
  return {
    udpPort, mgmtPort, child, output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Send packets one after another over UDP to 127.0.0.1:port. */
export async function sendUdp(port: number, packets: string[]): Promise<void> {
  const s = createSocket('udp4');
  for (const p of packets) await new Promise<void>((r, j) => s.send(p, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  await new Promise<void>((r) => s.close(() => r()));
}

/** One command to statsd's admin port (Etsy's interface); resolves with the whole answer. */
export function adminCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
      if (/END\n\n$|^health: \w+\n$|ERROR\n$/.test(out) || (command === 'config' && out.includes('flushInterval'))) { s.destroy(); resolve(out); }
    });
    s.on('error', reject);
    s.write(command + '\n');
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait until `cond()` holds, polling; throws with `what` after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** {@link waitFor} with a condition that has to ask (the worker thread, an admin port). */
export async function waitForAsync(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A program the test needs: with CI=true a missing one fails the test with a
 * clear message; elsewhere the test is skipped with the reason.
 */
export function requireProgram(t: { skip(msg: string): void }, have: boolean, what: string): boolean {
  if (have) return true;
  const msg = `${what} is not installed`;
  if (inCI()) throw new Error(`${msg} (CI=${process.env.CI}, so this is a failure, not a skip)`);
  t.skip(msg);
  return false;
}

/**
 * DIR/statsd.yaml for `blick statsd` as its own process: data under DIR/statsd, UDP and
 * admin on the given loopback ports, no TCP listener. Returns the file's path.
 */
export function statsdProcessConfig(dir: string, o: { udp: number; admin: number; flushInterval: string; host: string; upstream: string; graphite: string }): string {
  const file = join(dir, 'statsd.yaml');
  writeFileSync(file, [
    `data_dir: ${JSON.stringify(join(dir, 'statsd'))}`,
    'statsd:',
    `  udp: 127.0.0.1:${o.udp}`,
    '  tcp: false',
    `  admin: 127.0.0.1:${o.admin}`,
    `  flush_interval: ${o.flushInterval}`,
    `  host: ${o.host}`,
    `  upstreams: [${JSON.stringify(o.upstream)}]`,
    `  graphite: ${o.graphite}`,
  ].join('\n') + '\n');
  return file;
}

/**
 * The sockets process `pid` holds bound, read from /proc: TCP ports it listens
 * on and UDP ports it has bound (IPv4 and IPv6), to check that a daemon opened
 * nothing it was not asked to.
 */
export function boundPorts(pid: number): { tcp: number[]; udp: number[] } {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  const ports = (tables: string[], state: string) => {
    const out = new Set<number>();
    for (const t of tables) {
      for (const line of readFileSync(`/proc/net/${t}`, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10 || f[3] !== state || !inodes.has(f[9]!)) continue;
        out.add(parseInt(f[1]!.split(':')[1]!, 16));
      }
    }
    return [...out].sort((a, b) => a - b);
  };
  // 0A: TCP LISTEN; 07: UDP "close", i.e. bound and not connected
  return { tcp: ports(['tcp', 'tcp6'], '0A'), udp: ports(['udp', 'udp6'], '07') };
}

/**
 * The config text one of Etsy's own graphite tests writes (`var configfile = "…" + this.myflush + "…"`),
 * read from the test file in place: the concatenated string literal, with the variables filled in.
 */
export function etsyTestConfig(testSource: string, vars: Record<string, number>): string {
  const m = /var configfile = ("[\s\S]*?");\n/.exec(testSource);
  if (!m) throw new Error('no configfile in this Etsy test');
  const literal = m[1]!.replace(/" \+ this\.(\w+) \+ "/g, (_, name: string) => {
    if (vars[name] === undefined) throw new Error(`the Etsy test uses this.${name}`);
    return String(vars[name]);
  });
  const text = parseEtsyConfig(literal, 'etsy-test').value;
  if (typeof text !== 'string') throw new Error('configfile is not one string');
  return text;
}
