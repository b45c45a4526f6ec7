// Benchmark: Blick's statsd against Etsy's, same machine, same packet mix.
// Highest packet rate with < 0.1 % loss, and memory at 100,000 distinct names.
// Run: `node dist/bench/statsd.js` (prints a Markdown section), or import run().
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lineListener, startEtsy, type EtsyProcess } from '../test/statsd/fixtures.js';

const SELF = fileURLToPath(import.meta.url);
const TRIAL_MS = 1500;
const LOSS_LIMIT = 0.001;
/** fixed rate at which the daemon threads' busy share is measured */
const BUSY_RATE = 100_000;

/** Seeded PRNG (mulberry32) so both daemons get the very same packets. */
function prng(seed: number): () => number {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The mix: counters (some sampled), timers, gauges (some deltas), sets; 1–10 metrics per packet; 1000 names per type. */
export function packetMix(count: number): Buffer[] {
  const r = prng(42);
  const out: Buffer[] = [];
  for (let p = 0; p < count; p++) {
    const n = 1 + Math.floor(r() * 10);
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = Math.floor(r() * 1000);
      switch (Math.floor(r() * 4)) {
        case 0: lines.push(r() < 0.2 ? `app.requests.${name}:1|c|@0.5` : `app.requests.${name}:${1 + Math.floor(r() * 5)}|c`); break;
        case 1: lines.push(`app.latency.${name}:${(r() * 500).toFixed(2)}|ms`); break;
        case 2: lines.push(r() < 0.3 ? `app.queue.${name}:+${Math.floor(r() * 10)}|g` : `app.queue.${name}:${Math.floor(r() * 1000)}|g`); break;
        default: lines.push(`app.users.${name}:user${Math.floor(r() * 5000)}|s`);
      }
    }
    out.push(Buffer.from(lines.join('\n')));
  }
  return out;
}

/** 100,000 distinct names, 25,000 of each type, 10 per packet. */
function distinctNames(): Buffer[] {
  const out: Buffer[] = [];
  const types = ['c', 'ms', 'g', 's'];
  for (let p = 0; p < 10_000; p++) {
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) {
      const k = p * 10 + i;
      const t = types[k % 4]!;
      lines.push(`mem.${t}.metric_${k}:${t === 's' ? 'm' + k : k % 100}|${t}`);
    }
    out.push(Buffer.from(lines.join('\n')));
  }
  return out;
}

// ---- roles run in child processes ----

/** Sender: paces `rate` packets/s for `ms`, prints how many it sent. */
async function sender(port: number, rate: number, ms: number, mode: string): Promise<void> {
  const packets = mode === 'distinct' ? distinctNames() : packetMix(20_000);
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.connect(port, '127.0.0.1', r));
  const start = performance.now();
  let sent = 0;
  const total = mode === 'distinct' ? packets.length : Math.round((rate * ms) / 1000);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    while (sent < due) { s.send(packets[sent % packets.length]!); sent++; }
    await new Promise((r) => setImmediate(r));
  }
  const elapsed = performance.now() - start;
  await new Promise((r) => setTimeout(r, 50));
  s.close();
  process.stdout.write(JSON.stringify({ sent, elapsed }) + '\n');
}

/** Blick daemon in its own process, like Etsy's, printing its ports when up. */
async function blickDaemon(configJson: string): Promise<void> {
  const { createStatsd } = await import('../src/statsd/index.js');
  const { pino } = await import('pino');
  const d = createStatsd(JSON.parse(configJson), { log: pino({ level: 'warn' }) });
  await d.start();
  process.stdout.write(`ready ${d.addresses.udp} ${d.addresses.admin}\n`);
  // busy time (ms) of each thread's event loop since the last `elu` line on stdin
  const { performance } = await import('node:perf_hooks');
  let main = performance.eventLoopUtilization();
  let worker = d.workerAggregator?.eventLoopUtilization();
  process.stdin.setEncoding('utf8').on('data', () => {
    const m = performance.eventLoopUtilization(main);
    const w = worker ? d.workerAggregator?.eventLoopUtilization(worker) : undefined;
    process.stdout.write(`elu ${m.active} ${w ? w.active : -1}\n`);
    main = performance.eventLoopUtilization();
    worker = d.workerAggregator?.eventLoopUtilization();
  });
  process.on('SIGTERM', () => { void d.stop().then(() => process.exit(0)); });
}

// ---- orchestration ----

interface Daemon { name: string; pid: number; udp: number; admin: number; stop(): Promise<void>; elu?: () => Promise<{ main: number; worker: number }> }

const startBlickSingle = (graphitePort: number, flushMs: number) => startBlick(graphitePort, flushMs, 0);
const startBlickWorker = (graphitePort: number, flushMs: number) => startBlick(graphitePort, flushMs, 1);

async function startBlick(graphitePort: number, flushMs: number, workers: 0 | 1): Promise<Daemon> {
  const config = { udp: '127.0.0.1:0', tcp: false, admin: '127.0.0.1:0', flush_interval: `${flushMs}ms`, graphite: { host: '127.0.0.1', port: graphitePort }, workers };
  const child = spawn(process.execPath, [SELF, '--blick-daemon', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const line = await new Promise<string>((resolve, reject) => {
    const check = () => { if (out.includes('\n')) { child.stdout!.off('data', check); resolve(out); out = ''; } };
    child.stdout!.on('data', check);
    child.once('exit', (c) => reject(new Error(`blick statsd exited ${c}`)));
  });
  const elu = async () => {
    out = '';
    child.stdin!.write('elu\n');
    while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 10));
    const [, m, w] = out.trim().split(' ');
    return { main: Number(m), worker: Number(w) };
  };
  const [, udp, admin] = line.trim().split(' ');
  return { name: workers === 1 ? 'Blick, worker thread (workers: 1)' : 'Blick, single thread (workers: 0)', pid: child.pid!, udp: Number(udp), admin: Number(admin), stop: () => kill(child), elu };
}

async function startEtsyDaemon(graphitePort: number, flushMs: number): Promise<Daemon> {
  const e: EtsyProcess = await startEtsy({ graphiteHost: '127.0.0.1', graphitePort, flushInterval: flushMs });
  return { name: 'Etsy statsd 0.9', pid: e.child.pid!, udp: e.udpPort, admin: e.mgmtPort, stop: () => e.stop() };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

/** packets_received as the daemon's admin `counters` command shows it (same command on both). */
async function packetsReceived(adminPort: number): Promise<number> {
  const out = await new Promise<string>((resolve, reject) => {
    const s = connect(adminPort, '127.0.0.1');
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { buf += d; if (buf.includes('END\n')) { s.destroy(); resolve(buf); } });
    s.on('error', reject);
    s.write('counters\n');
  });
  const m = /'statsd\.packets_received': (\d+)/.exec(out);
  if (!m) throw new Error(`no packets_received in admin output: ${out.slice(0, 200)}`);
  return Number(m[1]);
}

let flushedPackets = 0;

/** Packets received since the daemon started, once it has stopped taking new ones in. */
async function settle(adminPort: number): Promise<number> {
  let last = -1;
  for (;;) {
    const a = await packetsReceived(adminPort);
    const f = flushedPackets;
    const b = await packetsReceived(adminPort);
    if (b < a || f !== flushedPackets) continue; // a flush happened in between
    const n = f + b;
    if (n === last) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function send(port: number, rate: number, ms: number, mode = 'mix'): Promise<{ sent: number; elapsed: number }> {
  const child = spawn(process.execPath, [SELF, '--sender', String(port), String(rate), String(ms), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise<void>((r) => child.once('exit', () => r()));
  return JSON.parse(out) as { sent: number; elapsed: number };
}

interface Trial { rate: number; achieved: number; loss: number; elu?: { main: number; worker: number } }

async function trial(d: Daemon, rate: number): Promise<Trial> {
  const before = await settle(d.admin);
  await d.elu?.();
  const { sent, elapsed } = await send(d.udp, rate, TRIAL_MS);
  const active = await d.elu?.(); // busy ms over the sender's run (its start-up, the send, 50 ms after)
  const after = await settle(d.admin);
  const elu = active ? { main: active.main / elapsed, worker: active.worker < 0 ? -1 : active.worker / elapsed } : undefined;
  return { rate, achieved: Math.round((sent / elapsed) * 1000), loss: 1 - (after - before) / sent, ...(elu ? { elu } : {}) };
}

/** Event-loop utilisation of the daemon's threads at a fixed rate well below the limit (median of 3 trials). */
async function busyAt(d: Daemon, rate: number): Promise<{ main: number; worker: number; loss: number }> {
  const ts: Trial[] = [];
  for (let i = 0; i < 3; i++) ts.push(await trial(d, rate));
  ts.sort((a, b) => a.elu!.main - b.elu!.main);
  const t = ts[1]!;
  return { ...t.elu!, loss: t.loss };
}

const eluText = (t: Trial) => (t.elu ? `, busy: main ${(t.elu.main * 100).toFixed(0)} %${t.elu.worker >= 0 ? `, worker ${(t.elu.worker * 100).toFixed(0)} %` : ''}` : '');

/** Highest rate with loss < 0.1 %: doubling, then bisection. */
async function maxRate(d: Daemon, log: (s: string) => void): Promise<{ best: Trial | undefined; senderLimited: boolean }> {
  let lo: Trial | undefined;
  let hi: number | undefined;
  let senderLimited = false;
  await trial(d, 5_000); // warm-up: JIT, first names
  for (let rate = 10_000; rate <= 1_280_000; rate *= 2) {
    const t = await trial(d, rate);
    log(`  ${d.name}: ${rate} pps asked, ${t.achieved} sent, loss ${(t.loss * 100).toFixed(3)} %${eluText(t)}`);
    if (t.achieved < rate * 0.9) { senderLimited = t.loss < LOSS_LIMIT; if (t.loss < LOSS_LIMIT) lo = t; else hi = rate; break; }
    if (t.loss < LOSS_LIMIT) lo = t; else { hi = rate; break; }
  }
  if (lo && hi) {
    let a = lo.rate;
    let b = hi;
    for (let i = 0; i < 3; i++) {
      const mid = Math.round((a + b) / 2);
      const t = await trial(d, mid);
      log(`  ${d.name}: ${mid} pps asked, ${t.achieved} sent, loss ${(t.loss * 100).toFixed(3)} %${eluText(t)}`);
      if (t.loss < LOSS_LIMIT && t.achieved >= mid * 0.9) { lo = t; a = mid; } else b = mid;
    }
  }
  return { best: lo, senderLimited };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function memoryAt100k(d: Daemon): Promise<{ before: number; after: number }> {
  const before = rssMiB(d.pid);
  const base = await settle(d.admin);
  await send(d.udp, 3_000, 0, 'distinct');
  const got = (await settle(d.admin)) - base;
  if (got < 9_900) throw new Error(`${d.name}: only ${got} of 10000 packets of distinct names arrived`);
  return { before, after: rssMiB(d.pid) };
}

/** Run the benchmark; returns a Markdown section. */
export async function run(log: (s: string) => void = () => {}): Promise<string> {
  // the Graphite sink sums each flush's stats_counts.statsd.packets_received: with
  // flushes during a trial, received = flushed so far + the admin's current counter
  const sink = await lineListener(0, {
    keep: false,
    onLine: (l) => { if (l.path === 'stats_counts.statsd.packets_received') flushedPackets += Number(l.value); },
  });
  const sinkPort = sink.port;
  const results: { name: string; best: Trial | undefined; senderLimited: boolean; mem: { before: number; after: number }; trials: string[]; busy?: { main: number; worker: number; loss: number } }[] = [];
  try {
    for (const start of [startEtsyDaemon, startBlickSingle, startBlickWorker]) {
      flushedPackets = 0;
      // rate: Etsy's default 10 s flush, as deployed; memory: a fresh daemon that does not flush meanwhile
      const d = await start(sinkPort, 10_000);
      let r: Awaited<ReturnType<typeof maxRate>>;
      const trials: string[] = [];
      let busy: { main: number; worker: number; loss: number } | undefined;
      try {
        r = await maxRate(d, (s) => { log(s); trials.push(s.slice(s.indexOf(d.name) + d.name.length + 2)); });
        if (d.elu) {
          busy = await busyAt(d, BUSY_RATE);
          log(`  ${d.name}: at ${BUSY_RATE} pps busy: main ${(busy.main * 100).toFixed(0)} %, worker ${(busy.worker * 100).toFixed(0)} %`);
        }
      } finally { await d.stop(); }
      const m = await start(sinkPort, 3_600_000);
      try {
        const mem = await memoryAt100k(m);
        log(`  ${m.name}: RSS ${mem.before.toFixed(0)} MiB idle, ${mem.after.toFixed(0)} MiB with 100,000 names`);
        results.push({ name: d.name, ...r, mem, trials, ...(busy ? { busy } : {}) });
      } finally {
        await m.stop();
      }
    }
  } finally {
    await sink.close();
  }
  const [etsy, single, worker] = results as [typeof results[0], typeof results[0], typeof results[0]];
  const fmt = (n: number) => n.toLocaleString('en-US');
  const ratio = (a: typeof etsy, b: typeof etsy) => (a.best && b.best ? (a.best.achieved / b.best.achieved).toFixed(2) : 'n/a');
  const lines = [
    '## statsd: Blick vs Etsy statsd',
    '',
    `Same machine (${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}), loopback UDP, each daemon in its own process,`,
    'the same seeded packet mix (counters incl. @0.5 samples, timers, gauges incl. deltas, sets; 1–10 metrics per packet, 1,000 names per type),',
    `a paced sender in a third process, ${TRIAL_MS / 1000} s per trial, received packets read from each daemon's admin \`counters\` (statsd.packets_received).`,
    '',
    '| | highest rate with < 0.1 % loss | metrics/s (≈5.5 per packet) | RSS idle | RSS with 100,000 names |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.best ? fmt(r.best.achieved) + ' packets/s' : 'below 10,000 packets/s'}${r.senderLimited ? ' (sender-limited)' : ''} | ${r.best ? fmt(Math.round(r.best.achieved * 5.5)) : '–'} | ${r.mem.before.toFixed(0)} MiB | ${r.mem.after.toFixed(0)} MiB |`),
    '',
    `Ratios: Blick single thread / Etsy **${ratio(single, etsy)}×**${single.senderLimited ? ' (at least: Blick outran the sender)' : ''}; `
      + `Blick worker thread / Etsy **${ratio(worker, etsy)}×**${worker.senderLimited ? ' (at least)' : ''}; worker / single thread **${ratio(worker, single)}×**.`,
    '',
    `Event-loop utilisation (busy share) of Blick's threads at a fixed ${fmt(BUSY_RATE)} packets/s (median of 3 trials):`,
    '',
    '| | main thread | worker thread |',
    '|---|---|---|',
    ...results.filter((r) => r.busy).map((r) => `| ${r.name} | ${(r.busy!.main * 100).toFixed(0)} % | ${r.busy!.worker >= 0 ? (r.busy!.worker * 100).toFixed(0) + ' %' : '–'} |`),
    '',
    'Trials (asked rate → sent, loss):',
    '',
    '```',
    ...results.map((r) => `${r.name}:\n  ${r.trials.join('\n  ')}`),
    '```',
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [role, ...args] = process.argv.slice(2);
  if (role === '--sender') await sender(Number(args[0]), Number(args[1]), Number(args[2]), args[3] ?? 'mix');
  else if (role === '--blick-daemon') await blickDaemon(args[0]!);
  else process.stdout.write(await run((s) => process.stderr.write(s + '\n')) + '\n');
}
