import { existsSync } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DerivedCheck } from '../../server/classification/types.js';
import { runPlugin } from '../checks/index.js';
import type { Listener, MonitorContext, MonitorEvent, Observer } from '../monitor.js';
import { defaultProcRoot } from '../observers/common.js';
import { DiskObserver, diskSchema, parseMounts } from '../observers/disk/index.js';
import { PathWatch } from './watch.js';

/** The attributes every event of a derived check carries: `derived_from: Service[demo]`, file and line. */
export function derivedAttributes(d: DerivedCheck): Record<string, string> {
  const a: Record<string, string> = { derived_from: d.origin.resource, derived_source: d.origin.source };
  if (d.origin.file) a.derived_file = d.origin.file;
  if (d.origin.line !== undefined) a.derived_line = String(d.origin.line);
  return a;
}

/** ` (Service[demo] at /etc/puppet/code/site.pp:3)`: where a derived check's problem comes from. */
export function derivedSuffix(d: DerivedCheck): string {
  const at = d.origin.file ? ` at ${d.origin.file}${d.origin.line !== undefined ? `:${d.origin.line}` : ''}` : '';
  return ` (${d.origin.resource}${at})`;
}

/** A context that adds `attributes` to every event a monitor emits through it. */
export function withAttributes(ctx: MonitorContext, attributes: Record<string, string>): MonitorContext {
  return {
    host: ctx.host, log: ctx.log, now: () => ctx.now(),
    emit: (e: MonitorEvent) => ctx.emit({ ...e, attributes: { ...e.attributes, ...attributes } }),
  };
}

/**
 * `File[f] ensure => file` → `file <f>`: ok while f exists, critical when it is
 * missing; sent at start and whenever that changes (inotify, through the files
 * listener's machinery).
 */
export class DerivedFileWatch implements Listener {
  readonly kind = 'listener' as const;
  readonly name: string;
  private watch: PathWatch | undefined;
  private last: boolean | undefined;
  private ctx: MonitorContext | undefined;
  private checking: Promise<void> = Promise.resolve();

  constructor(private readonly d: DerivedCheck, private readonly retryMs?: number) { this.name = `derived ${d.service}`; }

  async start(ctx: MonitorContext): Promise<void> {
    this.ctx = ctx;
    this.watch = new PathWatch(this.d.target, () => { this.checking = this.checking.then(() => this.check()); }, 100, this.retryMs);
    await this.watch.start(ctx);
    await this.check();
  }

  async stop(): Promise<void> { await this.watch?.stop(); await this.checking; this.ctx = undefined; }

  private async check(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    let exists = true;
    let type = 'missing';
    try { const st = await lstat(this.d.target); type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'link' : 'file'; } catch { exists = false; }
    if (exists === this.last) return;
    this.last = exists;
    ctx.emit({
      service: this.d.service, state: exists ? 'ok' : 'critical', time: ctx.now(),
      description: exists ? `${this.d.target} exists` : `${this.d.target} is missing${derivedSuffix(this.d)}`,
      attributes: { path: this.d.target, type, ...derivedAttributes(this.d) },
    });
  }
}

/**
 * `Mount[m]` → `disk <m>`: the disk observer's figures for m while it is
 * mounted, critical when it is not.
 */
export class DerivedMount implements Observer {
  readonly kind = 'observer' as const;
  readonly name: string;
  private readonly disk: DiskObserver;
  constructor(private readonly d: DerivedCheck, readonly intervalMs: number, private readonly procRoot = defaultProcRoot()) {
    this.name = `derived ${d.service}`;
    this.disk = new DiskObserver(diskSchema.parse({ mount_points: [d.target], interval: `${intervalMs}ms` }), procRoot);
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const attrs = derivedAttributes(this.d);
    const mounts = parseMounts(await readFile(join(this.procRoot, 'mounts'), 'utf8'));
    const m = mounts.find((x) => x.mountPoint === this.d.target);
    if (!m) {
      ctx.emit({ service: this.d.service, state: 'critical', time: ctx.now(), description: `${this.d.target} is not mounted${derivedSuffix(this.d)}`, attributes: { mount_point: this.d.target, ...attrs } });
      return;
    }
    let sent = false;
    await this.disk.observe({ ...withAttributes(ctx, attrs), emit: (e) => { sent = true; ctx.emit({ ...e, attributes: { ...e.attributes, ...attrs } }); } });
    // a filesystem the disk observer skips (tmpfs, a pseudo filesystem): mounted is all there is to say
    if (!sent) ctx.emit({ service: this.d.service, state: 'ok', time: ctx.now(), description: `${this.d.target} mounted (${m.fstype})`, attributes: { mount_point: m.mountPoint, device: m.device, fstype: m.fstype, ...attrs } });
  }
}

/** The package query this host has: dpkg-query on Debian, rpm elsewhere, none when neither is installed. */
export function packageQuery(): 'dpkg' | 'rpm' | undefined {
  if (existsSync('/usr/bin/dpkg-query')) return 'dpkg';
  if (existsSync('/usr/bin/rpm') || existsSync('/bin/rpm')) return 'rpm';
  return undefined;
}

/** `Package[p] ensure => installed` → `package <p>`: ok when dpkg (or rpm) says it is installed, else critical. */
export class DerivedPackage implements Observer {
  readonly kind = 'observer' as const;
  readonly name: string;
  constructor(private readonly d: DerivedCheck, readonly intervalMs: number, private readonly tool = packageQuery()) { this.name = `derived ${d.service}`; }

  async observe(ctx: MonitorContext): Promise<void> {
    const p = this.d.target;
    const attrs = { package: p, ...derivedAttributes(this.d) };
    if (!this.tool) { ctx.emit({ service: this.d.service, state: 'unknown', time: ctx.now(), description: 'neither dpkg-query nor rpm is installed', attributes: attrs }); return; }
    // `--` ends the options: a package name from a catalog is never read as a flag
    const r = this.tool === 'dpkg'
      ? await runPlugin(['dpkg-query', '-W', '-f=${Status}\t${Version}', '--', p], 10_000)
      : await runPlugin(['rpm', '-q', '--qf', '%{VERSION}-%{RELEASE}', '--', p], 10_000);
    let installed = false;
    let version = '';
    if (r.exitCode === 0) {
      if (this.tool === 'dpkg') { const [status, v] = r.output.trim().split('\t'); installed = status?.endsWith(' installed') ?? false; version = v ?? ''; }
      else { installed = true; version = r.output.trim(); }
    }
    if (r.error || r.timedOut) { ctx.emit({ service: this.d.service, state: 'unknown', time: ctx.now(), description: `cannot query ${this.tool}: ${r.error ?? 'timed out'}`, attributes: attrs }); return; }
    ctx.emit({
      service: this.d.service, state: installed ? 'ok' : 'critical', time: ctx.now(),
      description: installed ? `${p} ${version} installed` : `${p} is not installed${derivedSuffix(this.d)}`,
      attributes: { ...attrs, ...(version ? { version } : {}) },
    });
  }
}
