// Blick's statsd flushing into a real carbon-cache (Debian's graphite-carbon),
// read back with whisper-fetch: plaintext, pickle, and carbon coming up late.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createStatsd, type StatsdServer } from '../../src/statsd/index.js';
import { freeTcpPort, requireProgram, sendUdp, sleep, waitFor, waitForAsync } from './fixtures.js';

const haveCarbon = spawnSync('sh', ['-c', 'command -v carbon-cache && command -v whisper-fetch'], { encoding: 'utf8' }).status === 0;
const missing = 'graphite-carbon (carbon-cache, whisper-fetch; apt-get install -y graphite-carbon)';

interface Carbon { dir: string; linePort: number; picklePort: number; start(): Promise<void>; stop(): Promise<void>; fetch(metric: string): number[] }

async function carbonConfig(): Promise<Carbon> {
  const dir = mkdtempSync(join(tmpdir(), 'blick-carbon-'));
  for (const d of ['storage', 'whisper', 'log', 'conf']) mkdirSync(join(dir, d));
  const linePort = await freeTcpPort();
  const picklePort = await freeTcpPort();
  const queryPort = await freeTcpPort();
  // the package's own config, with everything that touches the machine moved into dir
  let conf = readFileSync('/etc/carbon/carbon.conf', 'utf8');
  const set = (key: string, value: string) => {
    const re = new RegExp(`^${key}\\s*=.*$`, 'm');
    conf = re.test(conf) ? conf.replace(re, `${key} = ${value}`) : conf.replace('[cache]', `[cache]\n${key} = ${value}`);
  };
  set('STORAGE_DIR', join(dir, 'storage') + '/');
  set('LOCAL_DATA_DIR', join(dir, 'whisper') + '/');
  set('WHITELISTS_DIR', join(dir, 'storage') + '/');
  set('CONF_DIR', join(dir, 'conf') + '/');
  set('LOG_DIR', join(dir, 'log') + '/');
  set('PID_DIR', dir + '/');
  set('USER', '');
  set('MAX_CREATES_PER_MINUTE', 'inf');
  set('MAX_UPDATES_PER_SECOND', 'inf');
  set('LINE_RECEIVER_INTERFACE', '127.0.0.1');
  set('LINE_RECEIVER_PORT', String(linePort));
  set('PICKLE_RECEIVER_INTERFACE', '127.0.0.1');
  set('PICKLE_RECEIVER_PORT', String(picklePort));
  set('CACHE_QUERY_INTERFACE', '127.0.0.1');
  set('CACHE_QUERY_PORT', String(queryPort));
  set('ENABLE_UDP_LISTENER', 'False');
  writeFileSync(join(dir, 'conf', 'carbon.conf'), conf);
  writeFileSync(join(dir, 'conf', 'storage-schemas.conf'), '[all]\npattern = .*\nretentions = 1s:1h\n');
  let child: ChildProcess | undefined;
  let out = '';
  return {
    dir, linePort, picklePort,
    async start() {
      child = spawn('carbon-cache', [`--config=${join(dir, 'conf', 'carbon.conf')}`, '--nodaemon', `--pidfile=${join(dir, 'carbon.pid')}`, '--logfile=-', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const c = child;
      await waitFor(() => {
        if (c.exitCode !== null) throw new Error(`carbon-cache exited with ${c.exitCode}:\n${out}`);
        return out.includes(`:${picklePort}`) || out.includes('PickleReceiver') && out.includes('starting on');
      }, 20_000, `carbon-cache to listen (output so far:\n${out})`);
      // the receivers log before they accept: check the line port for real
      await waitFor(() => existsSync(join(dir, 'carbon.pid')), 5000, 'carbon pid file');
      for (let i = 0; i < 50; i++) {
        const ok = await new Promise<boolean>((r) => { const s = connect(linePort, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
        if (ok) return;
        await sleep(100);
      }
      throw new Error(`carbon-cache line receiver not reachable on ${linePort}:\n${out}`);
    },
    async stop() {
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
    fetch(metric: string): number[] {
      const file = join(dir, 'whisper', ...metric.split('.')) + '.wsp';
      if (!existsSync(file)) return [];
      const txt = execFileSync('whisper-fetch', [`--from=${Math.floor(Date.now() / 1000) - 600}`, '--drop=nulls', file], { encoding: 'utf8' });
      return txt.trim().split('\n').filter(Boolean).map((l) => Number(l.split('\t')[1]));
    },
  };
}

function blickTo(port: number, protocol: 'text' | 'pickle'): StatsdServer {
  return createStatsd({
    udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '1s',
    graphite: protocol === 'text' ? { host: '127.0.0.1', port, protocol, reconnect_min: '100ms', reconnect_max: '500ms' } : { host: '127.0.0.1', pickle_port: port, protocol, reconnect_min: '100ms', reconnect_max: '500ms' },
  }, { log: pino({ level: 'silent' }) });
}

test('a real carbon-cache stores what Blick flushes (plaintext and pickle), also when carbon comes up after the flush', { timeout: 90_000 }, async (t) => {
  if (!requireProgram(t, haveCarbon, missing)) return;
  const carbon = await carbonConfig();
  // carbon is not running yet: the first flushes must wait in Blick's buffer
  const text = blickTo(carbon.linePort, 'text');
  const pickle = blickTo(carbon.picklePort, 'pickle');
  try {
    await text.start();
    await pickle.start();
    await sendUdp(text.addresses.udp!, ['blick.test.value:42|g', 'blick.test.req:3|c\nblick.test.req:4|c', 'blick.test.lat:5|ms\nblick.test.lat:15|ms']);
    await sendUdp(pickle.addresses.udp!, ['blick.pickled.value:7.5|g', 'blick.pickled.req:2|c']);
    // let the flush carrying these counts happen while carbon is still down
    await waitForAsync(async () => (await text.metrics('counters')).get('blick.test.req') === 0 && (await pickle.metrics('counters')).get('blick.pickled.req') === 0, 5000, 'a flush while carbon is down');
    assert.ok((text.backends[0] as unknown as { stats: { buffered_bytes: number } }).stats.buffered_bytes > 0, 'the flush waits in the buffer while carbon is down');
    await carbon.start();
    await waitFor(() => carbon.fetch('stats.gauges.blick.test.value').length > 0 && carbon.fetch('stats.gauges.blick.pickled.value').length > 0
      && carbon.fetch('stats_counts.blick.test.req').includes(7) && carbon.fetch('stats_counts.blick.pickled.req').includes(2), 20_000, 'whisper files with the flushed values');
    assert.ok(carbon.fetch('stats.gauges.blick.test.value').includes(42));
    assert.ok(carbon.fetch('stats_counts.blick.test.req').includes(7));
    assert.ok(carbon.fetch('stats.blick.test.req').includes(7)); // rate per second at a 1 s flush
    assert.ok(carbon.fetch('stats.timers.blick.test.lat.mean').includes(10));
    assert.ok(carbon.fetch('stats.timers.blick.test.lat.upper_90').includes(15));
    assert.ok(carbon.fetch('stats.gauges.blick.pickled.value').includes(7.5));
    assert.ok(carbon.fetch('stats_counts.blick.pickled.req').includes(2));
  } finally {
    await text.stop();
    await pickle.stop();
    await carbon.stop();
    rmSync(carbon.dir, { recursive: true, force: true });
  }
});
