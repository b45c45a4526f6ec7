import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './require.js';

/**
 * A real systemd booted in a private PID + mount namespace, as REAL-PARTS.md
 * prescribes: fresh tmpfs on /tmp, /run, /var/tmp and empty tmpfiles.d (so the
 * machine's /tmp is not emptied), and a minimal target that only starts dbus
 * (so no installed service is started). Stopped by SIGKILL to its pid only.
 */
export interface SystemdNamespace {
  /** systemd's pid as seen from outside (PID 1 inside) */
  readonly pid: number;
  /** its system bus, reachable from outside */
  readonly busAddress: string;
  /** `systemctl ARGS` inside the namespace */
  systemctl(...args: string[]): Promise<string>;
  /** writes /run/systemd/system/NAME inside the namespace and reloads */
  addUnit(name: string, text: string): Promise<void>;
  stop(): Promise<void>;
}

const BOOT_SCRIPT = `#!/bin/sh
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/tmp
mkdir /tmp/empty
mount --bind /tmp/empty /usr/lib/tmpfiles.d
mount --bind /tmp/empty /etc/tmpfiles.d
mkdir -p /run/systemd/system
cat > /run/systemd/system/blick-test.target <<'UNIT'
[Unit]
Description=Blick test target (dbus only)
Requires=dbus.service
After=dbus.service
UNIT
exec /lib/systemd/systemd --system --unit=blick-test.target --log-target=null
`;

/** The programs the fixture needs; missing ones are named. */
export async function systemdNamespaceMissing(): Promise<string | undefined> {
  for (const p of ['/lib/systemd/systemd', '/usr/bin/dbus-daemon']) if (!existsSync(p)) return `${p} (apt-get install systemd dbus)`;
  for (const p of ['unshare', 'nsenter', 'setsid', 'systemctl']) {
    try { await run('sh', ['-c', 'command -v "$1"', 'sh', p]); } catch { return `${p} (apt-get install util-linux systemd)`; }
  }
  if (process.getuid?.() !== 0) return 'root (namespaces and mounts need it)';
  return undefined;
}

async function childPid(parent: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const kids = (await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
      if (kids.length > 0) return Number(kids[0]);
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('systemd did not start in its namespace');
}

/** Boots systemd and waits until its bus answers (about half a second). */
export async function bootSystemd(timeoutMs = 15_000): Promise<SystemdNamespace> {
  const dir = await mkdtemp(join(tmpdir(), 'blick-systemd-'));
  const script = join(dir, 'boot.sh');
  await writeFile(script, BOOT_SCRIPT, { mode: 0o755 });
  const child: ChildProcess = spawn('setsid', ['unshare', '-m', '-p', '-f', '--mount-proc', script], { stdio: 'ignore', detached: false });
  let pid = 0;
  const stop = async () => {
    if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    // setsid execs unshare in place, so child.pid is unshare; it exits when systemd dies
    await new Promise<void>((r) => { if (child.exitCode !== null || child.signalCode !== null) r(); else { child.once('exit', () => r()); setTimeout(r, 2000).unref(); } });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    pid = await childPid(child.pid!, timeoutMs);
    const socket = `/proc/${pid}/root/run/dbus/system_bus_socket`;
    const ns: SystemdNamespace = {
      pid,
      busAddress: `unix:path=${socket}`,
      async systemctl(...args: string[]) {
        const { stdout } = await run('nsenter', ['-t', String(pid), '-m', '-p', 'systemctl', ...args], { timeout: 10_000 });
        return stdout.trim();
      },
      async addUnit(name: string, text: string) {
        if (!/^[\w@.-]+$/.test(name)) throw new Error(`bad unit name ${name}`);
        await writeFile(`/proc/${pid}/root/run/systemd/system/${name}`, text);
        await ns.systemctl('daemon-reload');
      },
      stop,
    };
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (existsSync(socket) && (await ns.systemctl('is-active', 'dbus.service')) === 'active') break;
      } catch { /* booting */ }
      if (Date.now() > until) throw new Error('systemd in the namespace did not bring up dbus in time');
      await new Promise((r) => setTimeout(r, 50));
    }
    return ns;
  } catch (err) {
    await stop();
    throw err;
  }
}
