/**
 * Agent benchmark (issue #3).
 *
 * 1. Footprint with the default monitors (cpu, memory, load, disk, network at
 *    10 s; systemd on a real systemd booted in a namespace, when one can boot):
 *    RSS and CPU% of one core over BENCH_AGENT_SECONDS (default 60) after a 15 s
 *    start-up, for the real `blick agent` (sending to a `blick server` in
 *    another process), for the monitors alone (a harness that runs
 *    src/agent/registry.ts into a no-op), both with bin/blick's agent node
 *    flags, and for collectd 5 with Debian's default plugins (csv instead of
 *    rrdtool as the writer), and the agent once more with Node's default flags.
 *    All four run at the same time, each in its own
 *    process, measured from /proc/<pid>.
 * 2. systemd failure → event stored at the server: real systemd in a
 *    namespace, a `blick agent` process, a unit's main process SIGKILLed
 *    BENCH_AGENT_KILLS times (default 50), time from kill() to the commit.
 * 3. Following a log: a log_patterns listener reads a BENCH_AGENT_TAIL_LINES
 *    (default 1 M) line file from its beginning, with the agent's node flags
 *    and with Node's defaults (`node dist/bench/agent.js --tail` is one run).
 *
 * collectd: `collectd` on PATH, or BENCH_COLLECTD=/path/to/sbin/collectd (for an
 * unpacked Debian package: `apt-get download collectd-core && dpkg -x …`).
 * Standalone: `node dist/bench/agent.js`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { Listener, MonitorContext, MonitorEvent, Observer } from '../src/agent/monitor.js';

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 60);
const KILLS = Number(process.env.BENCH_AGENT_KILLS ?? 50);
const STARTUP_MS = 15_000;
const CLK_TCK = 100; // Linux USER_HZ

/* ------------------------------------------------------------ harness mode */

/** The default monitors of src/agent/registry.ts, emitting into a no-op. Runs until SIGTERM. */
async function harness(): Promise<void> {
  const { BUILTIN_MONITORS } = await import('../src/agent/registry.js');
  let emitted = 0;
  const ctx: MonitorContext = {
    host: 'bench', log: pino({ level: 'warn' }), now: Date.now,
    emit: (_e: MonitorEvent) => { emitted++; },
  };
  const monitors = BUILTIN_MONITORS.flatMap((f) => f.create(undefined, { host: 'bench', dataDir: tmpdir() }));
  const timers: NodeJS.Timeout[] = [];
  for (const m of monitors) {
    if (m.kind === 'listener') await (m as Listener).start(ctx);
    else {
      const o = m as Observer;
      void o.observe(ctx);
      timers.push(setInterval(() => { void Promise.resolve(o.observe(ctx)).catch(() => {}); }, o.intervalMs));
    }
  }
  process.on('SIGTERM', () => {
    for (const t of timers) clearInterval(t);
    process.stdout.write(JSON.stringify({ monitors: monitors.map((m) => m.name), emitted }) + '\n');
    process.exit(0);
  });
}

/**
 * Tail mode: a log_patterns listener reads a file of LINES lines (one in ten
 * matches) from its beginning into a no-op; prints lines per second.
 */
const TAIL_LINES = Number(process.env.BENCH_AGENT_TAIL_LINES ?? 1_000_000);
async function tailHarness(): Promise<void> {
  const { LogPatternListener } = await import('../src/agent/listeners/log-pattern/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'blick-bench-tail-'));
  try {
    const path = join(dir, 'app.log');
    const chunk: string[] = [];
    for (let i = 0; i < TAIL_LINES; i++) {
      chunk.push(`2026-11-26T03:22:09.${String(i % 1000).padStart(3, '0')}Z 10.0.${i % 255}.${i % 7} GET /api/v1/items/${i} ${i % 10 === 0 ? 502 : 200} ${(i * 7) % 9000}b`);
    }
    writeFileSync(path, chunk.join('\n') + '\n');
    const want = Math.ceil(TAIL_LINES / 10);
    let got = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => { done = r; });
    const ctx: MonitorContext = { host: 'bench', log: pino({ level: 'warn' }), now: Date.now, emit: () => { if (++got === want) done(); } };
    const l = new LogPatternListener({ path, pattern: ' (?<status>5\\d\\d) ', flags: '', state: 'warning', from_beginning: true, tags: [] } as never, { pollMs: 10 });
    const alive = setInterval(() => {}, 1000); // the tail's own timers do not keep a process alive
    const t0 = performance.now();
    await l.start(ctx);
    await finished;
    clearInterval(alive);
    const s = (performance.now() - t0) / 1000;
    await l.stop();
    process.stdout.write(JSON.stringify({ linesPerSecond: TAIL_LINES / s, matches: got }) + '\n');
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** Lines per second of the tail harness under `flags`: the median of three runs, each its own process. */
async function tailThroughput(flags: string[]): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), '--tail'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (b) => { out += b; });
    await new Promise((r) => c.once('exit', r));
    try { runs.push(JSON.parse(out.trim()).linesPerSecond as number); } catch { runs.push(NaN); }
  }
  return runs.sort((a, b) => a - b)[1]!;
}

/* ------------------------------------------------------------ measuring */

interface Usage { rssMeanMb: number; rssMaxMb: number; rssStartupMaxMb: number; cpuPercent: number; privateMb: number; binaryMb: number }

/** Private (USS) memory, and the resident pages of the program's own binary (shared with every process running it). */
function memoryDetail(pid: number): { privateKb: number; binaryKb: number } {
  try {
    const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const priv = Number(/^Private_Dirty:\s+(\d+)/m.exec(roll)?.[1] ?? 0) + Number(/^Private_Clean:\s+(\d+)/m.exec(roll)?.[1] ?? 0);
    const exe = readlinkSync(`/proc/${pid}/exe`);
    let binaryKb = 0, current = '';
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s+(.*)$/.exec(line);
      if (m) { current = m[1] ?? ''; continue; }
      if (current === exe && line.startsWith('Rss:')) binaryKb += Number(line.split(/\s+/)[1]);
    }
    return { privateKb: priv, binaryKb };
  } catch { return { privateKb: NaN, binaryKb: NaN }; }
}

function ticks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * Samples a process from its start: RSS every second; the first STARTUP_MS are
 * start-up (loading, the first observations, until V8's memory reducer runs),
 * reported apart; mean, max and CPU% of one core are over the `seconds` after.
 */
async function measure(pid: number, seconds: number): Promise<Usage> {
  const startup: number[] = [];
  const tStart = performance.now();
  while (performance.now() - tStart < STARTUP_MS) {
    startup.push(rssKb(pid));
    await sleep(Math.min(1000, STARTUP_MS - (performance.now() - tStart)));
  }
  const t0 = performance.now();
  const c0 = ticks(pid);
  const rss: number[] = [];
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    rss.push(rssKb(pid));
    await sleep(Math.min(1000, until - performance.now()));
  }
  const c1 = ticks(pid);
  const elapsed = (performance.now() - t0) / 1000;
  const detail = memoryDetail(pid);
  return {
    privateMb: detail.privateKb / 1024,
    binaryMb: detail.binaryKb / 1024,
    rssMeanMb: rss.reduce((a, b) => a + b, 0) / rss.length / 1024,
    rssMaxMb: Math.max(...rss) / 1024,
    rssStartupMaxMb: Math.max(...startup) / 1024,
    cpuPercent: ((c1 - c0) / CLK_TCK / elapsed) * 100,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { c.kill('SIGKILL'); }, 5000);
    c.once('exit', () => { clearTimeout(t); resolve(); });
    c.kill('SIGTERM');
  });
}

/**
 * The node flags bin/blick gives `blick agent` (lite mode), read from the
 * launcher itself so that the benchmark measures what users run.
 */
export function agentNodeFlags(): string[] {
  const launcher = readFileSync(join(here, '..', '..', 'bin', 'blick'), 'utf8');
  const m = /BLICK_AGENT_NODE_FLAGS-"([^"]*)"/.exec(launcher);
  if (!m) throw new Error('bin/blick: no default BLICK_AGENT_NODE_FLAGS');
  return m[1]!.split(/\s+/).filter(Boolean);
}

/**
 * `blick <args>` from this build (dist/ or dist-agent/), with the node flags
 * bin/blick would give that command, without going through bin/.
 */
function blick(args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags?: string[]): ChildProcess {
  const main = pathToFileURL(join(here, '..', 'src', 'cli', 'main.js')).href;
  const flags = nodeFlags ?? (args[0] === 'agent' ? agentNodeFlags() : []);
  return spawn(process.execPath, [...flags, '--input-type=module', '-e', 'const m = await import(process.argv[1]); await m.main(process.argv.slice(2));', main, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BLICK_LOG_LEVEL: 'warn', ...env },
  });
}

function collectdBinary(): string | undefined {
  if (process.env.BENCH_COLLECTD) return existsSync(process.env.BENCH_COLLECTD) ? process.env.BENCH_COLLECTD : undefined;
  for (const p of ['/usr/sbin/collectd', '/usr/local/sbin/collectd']) if (existsSync(p)) return p;
  // Debian's collectd-core, unpacked (not installed: its maintainer scripts would start a system collectd)
  const cache = join(here, '..', '..', 'node_modules', '.cache', 'blick-bench', 'collectd');
  const bin = join(cache, 'usr', 'sbin', 'collectd');
  if (existsSync(bin)) return bin;
  try {
    mkdirSync(cache, { recursive: true });
    execFileSync('apt-get', ['download', 'collectd-core'], { cwd: cache, stdio: 'ignore' });
    const deb = readdirSync(cache).find((f) => f.startsWith('collectd-core') && f.endsWith('.deb'));
    if (deb) execFileSync('dpkg', ['-x', join(cache, deb), cache], { stdio: 'ignore' });
  } catch { /* no apt here: reported as not found */ }
  return existsSync(bin) ? bin : undefined;
}

/** collectd with Debian's default LoadPlugin list (collectd.conf of the `collectd` package), csv as writer. */
function collectdConfig(dir: string, pluginDir: string): string {
  const plugins = ['syslog', 'battery', 'cpu', 'df', 'disk', 'entropy', 'interface', 'irq', 'load', 'memory', 'processes', 'swap', 'users', 'csv'];
  return [
    `BaseDir "${dir}"`, `PIDFile "${dir}/collectd.pid"`, `PluginDir "${pluginDir}"`, `TypesDB "${dirname(pluginDir)}/../share/collectd/types.db"`,
    'Interval 10', 'Hostname "bench"', 'FQDNLookup false',
    ...plugins.map((p) => `LoadPlugin ${p}`),
    '<Plugin syslog>\n  LogLevel warning\n</Plugin>',
    `<Plugin csv>\n  DataDir "${dir}/csv"\n  StoreRates true\n</Plugin>`,
  ].join('\n') + '\n';
}

/* ------------------------------------------------------------ footprint */

interface Footprint { agent?: Usage; agentDefault?: Usage; harness?: Usage; harnessMonitors?: string[]; collectd?: Usage; collectdNote?: string; agentNote?: string; systemdUnits?: number; systemdNote?: string }

/** Services added to the namespace's systemd for the footprint run, beside the units it boots with. */
const FOOTPRINT_SERVICES = 20;

async function footprint(seconds: number): Promise<Footprint> {
  const dir = mkdtempSync(join(tmpdir(), 'blick-bench-agent-'));
  const children: ChildProcess[] = [];
  const out: Footprint = {};
  // real hosts run systemd: boot one in a namespace, so the agent's systemd listener
  // (and the D-Bus library) is part of the footprint, watching every unit
  const { systemdNamespaceMissing, bootSystemd } = await import('../test/agent/systemd-namespace.js');
  const why = await systemdNamespaceMissing();
  const ns = why ? undefined : await bootSystemd();
  const busEnv: NodeJS.ProcessEnv = ns ? { DBUS_SYSTEM_BUS_ADDRESS: ns.busAddress } : {};
  try {
    if (ns) {
      for (let i = 0; i < FOOTPRINT_SERVICES; i++) await ns.addUnit(`bench-${i}.service`, '[Service]\nExecStart=/bin/sleep infinity\n');
      await ns.systemctl('start', ...Array.from({ length: FOOTPRINT_SERVICES }, (_, i) => `bench-${i}.service`));
      out.systemdUnits = (await ns.systemctl('list-units', '--all', '--no-legend', '--plain')).trim().split('\n').length;
    } else out.systemdNote = `without systemd (${why})`;
    const jobs: Promise<void>[] = [];
    // the real agent, sending to a real server (separate processes)
    if (existsSync(join(here, '..', 'src', 'cli', 'main.js'))) {
      const [ingest, http] = [await freePort(), await freePort()];
      const cfg = join(dir, 'blick.yaml');
      writeFileSync(cfg, [
        `data_dir: ${join(dir, 'data')}`,
        'server:', `  ingest: tcp://127.0.0.1:${ingest}`, `  http: 127.0.0.1:${http}`,
        'agent:', '  host: bench-agent', `  upstreams: [tcp://127.0.0.1:${ingest}]`,
      ].join('\n') + '\n');
      const server = blick(['server', '--config', cfg]);
      children.push(server);
      await sleep(1500);
      const agent = blick(['agent', '--config', cfg], busEnv);
      children.push(agent);
      let err = '';
      agent.stderr!.on('data', (b) => { err += b; });
      jobs.push(measure(agent.pid!, seconds).then((u) => { out.agent = u; }, (e) => { out.agentNote = `agent stopped: ${(e as Error).message} ${err.slice(0, 300)}`; }));
      // the same agent with Node's default flags (BLICK_AGENT_NODE_FLAGS=''), to show what the launcher's flags buy
      const plainCfg = join(dir, 'blick-plain.yaml');
      writeFileSync(plainCfg, readFileSync(cfg, 'utf8').replace('host: bench-agent', 'host: bench-agent-plain').replace(`data_dir: ${join(dir, 'data')}`, `data_dir: ${join(dir, 'data-plain')}`));
      const plain = blick(['agent', '--config', plainCfg], busEnv, []);
      children.push(plain);
      jobs.push(measure(plain.pid!, seconds).then((u) => { out.agentDefault = u; }, () => {}));
    } else out.agentNote = 'src/cli/main.js not built';
    // the monitors alone
    const h = spawn(process.execPath, [...agentNodeFlags(), fileURLToPath(import.meta.url), '--harness'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...busEnv } });
    children.push(h);
    let hOut = '';
    h.stdout!.on('data', (b) => { hOut += b; });
    jobs.push(measure(h.pid!, seconds).then((u) => { out.harness = u; }));
    // collectd
    const bin = collectdBinary();
    if (bin) {
      const pluginDir = process.env.BENCH_COLLECTD_PLUGINS ?? join(dirname(bin), '..', 'lib', 'collectd');
      const conf = join(dir, 'collectd.conf');
      writeFileSync(conf, collectdConfig(dir, pluginDir));
      const c = spawn(bin, ['-f', '-C', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(c);
      jobs.push(measure(c.pid!, seconds).then((u) => { out.collectd = u; }, () => { out.collectdNote = 'collectd exited early'; }));
    } else out.collectdNote = 'collectd not found (apt-get install collectd-core, or BENCH_COLLECTD=/path/to/collectd)';
    await Promise.all(jobs);
    await stopChild(h);
    try { out.harnessMonitors = JSON.parse(hOut.trim().split('\n').pop() ?? '{}').monitors; } catch { /* none */ }
  } finally {
    for (const c of children.reverse()) await stopChild(c);
    await ns?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/* ------------------------------------------------------------ systemd latency */

/** The outside pid of a process that is `nsPid` inside the namespace whose PID 1 is `root`. */
async function outsidePid(root: number, nsPid: number): Promise<number | undefined> {
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    try {
      const status = await readFile(`/proc/${p}/status`, 'utf8');
      const ns = /NSpid:\s+([\d\s]+)/.exec(status)?.[1]?.trim().split(/\s+/);
      if (ns && Number(ns[ns.length - 1]) === nsPid) return p;
      for (const t of await readdir(`/proc/${p}/task`)) {
        const kids = (await readFile(`/proc/${p}/task/${t}/children`, 'utf8')).trim();
        if (kids) queue.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* exited */ }
  }
  return undefined;
}

interface Latency { p50: number; p99: number; max: number; n: number; note?: string }

/**
 * systemd unit failure → event stored at the server: real systemd in a namespace,
 * a real `blick agent` process (lite mode, as bin/blick starts it; its systemd
 * listener on that bus) and a real server in this process, over ZeroMQ; the
 * clock stops when the server's ingest has committed the event.
 */
async function systemdLatency(kills: number): Promise<Latency> {
  const { systemdNamespaceMissing, bootSystemd } = await import('../test/agent/systemd-namespace.js');
  const why = await systemdNamespaceMissing();
  if (why) return { p50: NaN, p99: NaN, max: NaN, n: 0, note: `skipped: ${why}` };
  const { BlickServer, serverConfigSchema } = await import('../src/server/index.js');
  const ns = await bootSystemd();
  const dir = mkdtempSync(join(tmpdir(), 'blick-bench-sd-'));
  const log = pino({ level: 'warn' });
  const server = new BlickServer(serverConfigSchema.parse({ ingest: 'tcp://127.0.0.1:0', http: '127.0.0.1:0' }), { dataDir: join(dir, 'server'), log });
  let agent: ChildProcess | undefined;
  type Stored = { state?: string; attributes: Record<string, string> };
  const waiters: ((e: Stored) => void)[] = [];
  const next = (pred: (e: Stored) => boolean, timeoutMs = 10_000) => new Promise<Stored>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no event in time')), timeoutMs);
    const w = (e: Stored) => { if (pred(e)) { clearTimeout(t); resolve(e); } else waiters.push(w); };
    waiters.push(w);
  });
  const samples: number[] = [];
  try {
    await server.start();
    server.ingest.subscribe((i) => {
      for (const e of i.events) if (e.service === 'systemd blick-bench.service') for (const w of waiters.splice(0)) w(e);
    });
    await ns.addUnit('blick-bench.service', '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sleep infinity\n');
    await ns.systemctl('start', 'blick-bench.service');
    const up = next((e) => e.state === 'ok' && e.attributes.sub_state === 'running', 30_000);
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(cfg, [
      `data_dir: ${JSON.stringify(join(dir, 'agent'))}`,
      'agent:', '  host: bench', `  upstreams: [${JSON.stringify(server.receiver.endpoint)}]`, '  heartbeat: 0', '  facts_interval: 1h',
      ...['cpu', 'memory', 'load', 'disk', 'network'].map((k) => `  ${k}: { enabled: false }`),
      `  systemd: { units: [blick-bench.service], bus: ${JSON.stringify(ns.busAddress)} }`,
    ].join('\n') + '\n');
    agent = blick(['agent', '--config', cfg]);
    let ev = await up;
    for (let i = 0; i < kills; i++) {
      const pid = await outsidePid(ns.pid, Number(ev.attributes.main_pid));
      if (!pid) throw new Error(`cannot find main pid ${ev.attributes.main_pid} of the unit`);
      const failed = next((e) => e.state === 'critical');
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      await failed;
      samples.push(performance.now() - t0);
      const running = next((e) => e.state === 'ok' && e.attributes.sub_state === 'running');
      await ns.systemctl('start', 'blick-bench.service');
      ev = await running;
    }
  } finally {
    await stopChild(agent);
    await server.stop();
    await ns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.ceil(p * samples.length) - 1)]!;
  return { p50: q(0.5), p99: q(0.99), max: samples[samples.length - 1]!, n: samples.length };
}

/* ------------------------------------------------------------ report */

const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(1));
const f0 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : Math.round(n).toLocaleString('en-US'));
const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(2));

/** Runs the agent benchmark and returns a Markdown section. */
export async function run(): Promise<string> {
  const fp = await footprint(SECONDS);
  const tailLite = await tailThroughput(agentNodeFlags());
  const tailDefault = await tailThroughput([]);
  let lat: Latency;
  try { lat = await systemdLatency(KILLS); } catch (err) { lat = { p50: NaN, p99: NaN, max: NaN, n: 0, note: `failed: ${(err as Error).message}` }; }
  const ratio = (a?: Usage, b?: Usage, k: keyof Usage = 'rssMeanMb') => (a && b && b[k] > 0 ? `${(a[k] / b[k]).toFixed(2)}×` : 'n/a');
  const row = (name: string, u?: Usage) => `| ${name} | ${f1(u?.rssMeanMb)} | ${f1(u?.rssMaxMb)} | ${f1(u?.rssStartupMaxMb)} | ${f1(u?.privateMb)} | ${f1(u?.binaryMb)} | ${f2(u?.cpuPercent)} |`;
  const flags = agentNodeFlags().join(' ');
  const systemd = fp.systemdUnits ? `real systemd in a namespace with ${fp.systemdUnits} units, every one watched` : (fp.systemdNote ?? 'without systemd');
  const lines = [
    '## Agent (issue #3)',
    '',
    `Footprint with the default monitors (${systemd}) over ${SECONDS} s after a ${STARTUP_MS / 1000} s start-up, measured from /proc; all four ran at the same time on a ${process.env.BENCH_MACHINE ?? '2-core'} machine. ` +
      `The agent and the monitors run with the node flags bin/blick gives the agent (\`${flags}\`); one more agent runs with Node's defaults. Targets: RSS ≤ 60 MB, CPU ≤ 0.5 % of one core.`,
    '',
    `| process | RSS mean MB | RSS max MB | RSS max in the first ${STARTUP_MS / 1000} s MB | private (USS) MB at end | of RSS: its binary, shared, MB | CPU % of one core |`,
    '|---|---|---|---|---|---|---|',
    row('`blick agent` (default monitors, heartbeat, facts, ZeroMQ to a `blick server`)', fp.agent),
    row('the same agent with Node\'s default flags (`BLICK_AGENT_NODE_FLAGS=`)', fp.agentDefault),
    row(`monitors alone (${fp.harnessMonitors?.join(', ') ?? 'registry defaults'} → no-op)`, fp.harness),
    row('collectd 5.12 (Debian default plugins, csv writer)', fp.collectd),
    '',
    `Ratio blick agent / collectd: RSS ${ratio(fp.agent, fp.collectd)}, private memory ${ratio(fp.agent, fp.collectd, 'privateMb')}, CPU ${ratio(fp.agent, fp.collectd, 'cpuPercent')}. ` +
      'Of the agent\'s RSS, the resident pages of /usr/bin/node itself are shared by every Node.js process on the host; the private column is what the agent adds. ' +
      'Start-up (loading the code, the first observations, the first D-Bus sync) leaves garbage that V8\'s memory reducer returns about 8 s after the process goes idle.' +
      (fp.agentNote ? ` Agent: ${fp.agentNote}.` : '') + (fp.collectdNote ? ` collectd: ${fp.collectdNote}.` : ''),
    '',
    `Following a log (\`log_patterns\`, one line in ten matches, read from the beginning of a ${(TAIL_LINES / 1e6).toFixed(1)} M-line file into a no-op): ` +
      `${f0(tailLite)} lines/s with the agent's flags, ${f0(tailDefault)} lines/s with Node's defaults (${(tailLite / tailDefault).toFixed(2)}×; median of 3 runs each). ` +
      'Lite mode interprets all JavaScript and regular expressions: a host whose logs run to tens of thousands of lines a second is better served by `BLICK_AGENT_NODE_FLAGS=`.',
    '',
    `systemd failure → event stored at the server (real systemd in a namespace, a real \`blick agent\` process and a server over ZeroMQ; SIGKILL of the unit's main process → the server's ingest has committed the critical event), ${lat.n} kills: ` +
      `p50 ${f1(lat.p50)} ms, p99 ${f1(lat.p99)} ms, max ${f1(lat.max)} ms (target p99 < 50 ms).${lat.note ? ' ' + lat.note : ''}`,
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--harness')) await harness();
  else if (process.argv.includes('--tail')) await tailHarness();
  else process.stdout.write(await run());
}
