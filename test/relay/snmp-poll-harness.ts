// A real Debian snmpd for the SNMP poller's proof: on a free loopback UDP port, with its
// own config and persistent directory, that a test can SIGKILL and start again on the
// same port. (The poller itself runs inside a real `blick relay`: test/relay/processes.ts.)
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devicesConfigSchema } from '../../src/relay/snmp/poll/config.js';
import { netSnmpSession } from '../../src/relay/snmp/poll/session.js';
import { SYS_UPTIME } from '../../src/relay/snmp/poll/device.js';
import { until } from '../fixtures/blick.js';

/** The v3 user of {@link snmpdConf} (authPriv, SHA and AES). */
export const V3_USER = { name: 'bar', auth: { protocol: 'sha', key: 'barauthpass' }, priv: { protocol: 'aes', key: 'barprivpass' } } as const;

/** REAL-PARTS.md's tested snmpd.conf: v2c community `public` and the v3 user `bar` (authPriv). */
export function snmpdConf(port: number): string {
  return [
    `agentAddress udp:127.0.0.1:${port}`,
    'rocommunity public 127.0.0.1',
    `createUser ${V3_USER.name} SHA "${V3_USER.auth.key}" AES "${V3_USER.priv.key}"`,
    `rouser ${V3_USER.name} priv`,
    // a fixed value for an OID test with thresholds (sysServices)
    'sysservices 72',
    '',
  ].join('\n');
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A real snmpd on 127.0.0.1:port, killed with SIGKILL and started again by the test. */
export interface Snmpd {
  readonly port: number;
  start(): Promise<void>;
  kill(): Promise<void>;
  output(): string;
}

/** snmpd with its own config and persistent dir under `dir`; stopped after the test. */
export async function snmpd(defer: (fn: () => unknown) => void, dir: string): Promise<Snmpd> {
  const port = await freeUdpPort();
  const conf = join(dir, 'snmpd.conf');
  const persistent = join(dir, 'snmpd-persist');
  mkdirSync(persistent, { recursive: true });
  writeFileSync(conf, snmpdConf(port));
  let child: ChildProcess | undefined;
  let out = '';
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await gone;
  };
  defer(kill);
  const answers = async (): Promise<boolean> => {
    const s = netSnmpSession(devicesConfigSchema.parse([{ host: 'probe', address: '127.0.0.1', port, timeout: '200ms', retries: 0 }])[0]!);
    try { await s.get([SYS_UPTIME]); return true; } catch { return false; } finally { s.close(); }
  };
  return {
    port,
    output: () => out,
    kill,
    async start() {
      // -f: foreground, -Lo: log to stdout, -C: only this config; MIBS="": Debian ships no MIB files
      const c = spawn('snmpd', ['-f', '-Lo', '-C', '-c', conf, '-p', join(dir, 'snmpd.pid'), `--persistentDir=${persistent}`], { env: { ...process.env, MIBS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      c.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
      await until(async () => {
        if (c.exitCode !== null) throw new Error(`snmpd exited with ${c.exitCode}: ${out}`);
        return answers();
      }, `snmpd answering on 127.0.0.1:${port}`, 15_000, 100);
    },
  };
}
