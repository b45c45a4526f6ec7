import { createHash } from 'node:crypto';
import { createReadStream, watch, type FSWatcher, type Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defineMonitor, type Listener, type MonitorContext } from '../../monitor.js';
import { formatDuration } from '../../../core/duration.js';
import { globBase, globToRegExp, isGlob } from '../glob.js';
import { Resolver } from '../resolve.js';
import { filesSchema, type FileEntry } from './schema.js';

export { filesSchema, fileEntrySchema, type FileEntry } from './schema.js';

/** What happened to a watched path. */
export type FileChange = 'created' | 'modified' | 'deleted' | 'attributes' | 'moved';

interface Snap {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  mode: number;
  uid: number;
  gid: number;
  dir: boolean;
  sha256?: string | undefined;
}

/** Options of {@link FilesListener} beyond the configuration entry. */
export interface FilesOptions {
  /** how often to retry watching a directory that is missing (default 5000 ms) */
  retryMs?: number;
}

function snapOf(st: Stats): Snap {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, dir: st.isDirectory() };
}

async function sha256(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const h = createHash('sha256');
    const s = createReadStream(path);
    s.on('data', (d) => h.update(d));
    s.on('end', () => resolve(h.digest('hex')));
    s.on('error', () => resolve(undefined));
  });
}

/**
 * Watches files and directories with inotify (one `fs.watch` per directory, so
 * a file replaced by rename — editors, logrotate, package managers — stays
 * watched, and new subdirectories are picked up) and emits one event per
 * change, after changes to the same path have settled for `debounce`.
 *
 * Events: service `file <path>`, attributes `change` (created, modified,
 * deleted, attributes, moved), `changed` (which properties), size, mode, uid,
 * gid, mtime, and with `hash: true` the content's sha256.
 *
 * @example new FilesListener({ path: '/etc/nginx/**', hash: true, max_hash_bytes: 1 << 26, state: 'warning', debounce: 100, tags: [] })
 */
export class FilesListener implements Listener {
  readonly kind = 'listener' as const;
  readonly name: string;
  private readonly base: string;
  private readonly match: (p: string) => boolean;
  private recursive: boolean;
  private readonly snaps = new Map<string, Snap>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly dirty = new Set<string>();
  private debounceTimer: NodeJS.Timeout | undefined;
  private firstDirtyAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private ctx: MonitorContext | undefined;
  private resolver: Resolver | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = true;

  constructor(private readonly entry: FileEntry, private readonly options: FilesOptions = {}) {
    this.name = `files ${entry.path}`;
    const p = entry.path.length > 1 ? entry.path.replace(/\/+$/, '') : entry.path;
    if (isGlob(p)) {
      this.base = globBase(p);
      const re = globToRegExp(p);
      this.match = (x) => re.test(x);
      this.recursive = p.includes('**') || p.slice(this.base.length + 1).includes('/');
    } else {
      // a plain path: that path; if it is a directory, also its direct entries (decided at start)
      this.base = dirname(p);
      this.match = (x) => x === p || (this.plainDir && dirname(x) === p);
      this.recursive = false;
    }
    this.plainPath = isGlob(p) ? undefined : p;
  }

  private readonly plainPath: string | undefined;
  private plainDir = false;

  async start(ctx: MonitorContext): Promise<void> {
    this.ctx = ctx;
    this.stopped = false;
    const after = this.entry.resolve_after;
    if (after !== undefined && this.entry.state !== 'ok') {
      this.resolver = new Resolver(ctx, { afterMs: after, reason: `no change for ${formatDuration(after)}`, attributes: { change: 'none' }, tags: this.entry.tags });
    }
    if (this.plainPath) {
      try { this.plainDir = (await stat(this.plainPath)).isDirectory(); } catch { this.plainDir = false; }
    }
    await this.scan(this.base, false);
    if (this.plainDir && this.plainPath) await this.scan(this.plainPath, false);
    const retry = this.options.retryMs ?? 5000;
    // a watched directory that is missing or was removed is watched again when it comes back
    this.retryTimer = setInterval(() => { if (!this.watchers.has(this.base)) { void this.scan(this.base, true); } }, retry);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.flushing;
    this.resolver?.stop();
    this.resolver = undefined;
  }

  /** True when `dir` is a directory this listener must watch (the base, its subdirectories when recursive, a plain directory). */
  private wantsDir(dir: string): boolean {
    if (dir === this.base) return true;
    if (this.plainDir && dir === this.plainPath) return true;
    return this.recursive && dir.startsWith(this.base === '/' ? '/' : this.base + '/');
  }

  private watchDir(dir: string): void {
    if (this.watchers.has(dir) || this.stopped) return;
    try {
      const w = watch(dir, { persistent: false }, (_ev, file) => {
        if (file === null) { void this.scan(dir, true); return; }
        this.markDirty(join(dir, file.toString()));
      });
      w.on('error', () => { w.close(); if (this.watchers.get(dir) === w) this.watchers.delete(dir); this.markDirty(dir); });
      this.watchers.set(dir, w);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') this.ctx?.log.warn({ dir }, 'inotify watch limit reached (raise fs.inotify.max_user_watches)');
    }
  }

  /** Records (and, when `report`, reports) what is in a directory; watches it and, when recursive, its subdirectories. */
  private async scan(dir: string, report: boolean): Promise<void> {
    if (this.stopped || !this.wantsDir(dir)) return;
    let names: string[];
    try { names = await readdir(dir); } catch { return; }
    this.watchDir(dir);
    for (const n of names) {
      const p = join(dir, n);
      if (report) { this.markDirty(p); continue; }
      let st: Stats;
      try { st = await lstat(p); } catch { continue; }
      if (this.match(p)) this.snaps.set(p, await this.snapshot(p, st));
      if (st.isDirectory() && this.wantsDir(p)) await this.scan(p, false);
    }
  }

  private async snapshot(path: string, st: Stats): Promise<Snap> {
    const s = snapOf(st);
    if (this.entry.hash && st.isFile() && st.size <= this.entry.max_hash_bytes) s.sha256 = await sha256(path);
    return s;
  }

  private markDirty(path: string): void {
    if (this.stopped) return;
    if (this.dirty.size === 0) this.firstDirtyAt = Date.now();
    this.dirty.add(path);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    // settle for `debounce`, but never hold a change back for more than 10 windows
    const wait = Date.now() - this.firstDirtyAt > this.entry.debounce * 10 ? 0 : this.entry.debounce;
    this.debounceTimer = setTimeout(() => { this.flushing = this.flushing.then(() => this.flush()); }, wait);
  }

  private async flush(): Promise<void> {
    this.debounceTimer = undefined;
    if (this.stopped) return;
    const paths = [...this.dirty].sort();
    this.dirty.clear();
    const vanished: { path: string; snap: Snap }[] = [];
    const appeared: { path: string; snap: Snap }[] = [];
    const changed: { path: string; before: Snap; after: Snap }[] = [];
    for (const path of paths) {
      let st: Stats | undefined;
      try { st = await lstat(path); } catch { st = undefined; }
      const before = this.snaps.get(path);
      if (st?.isDirectory() && this.wantsDir(path) && !this.watchers.has(path)) await this.scan(path, true);
      if (!st) {
        if (this.watchers.has(path)) { this.watchers.get(path)!.close(); this.watchers.delete(path); }
        // a directory that went away takes what was under it along
        for (const [p, s] of this.snaps) {
          if (p.startsWith(path + '/')) { vanished.push({ path: p, snap: s }); this.snaps.delete(p); }
        }
        for (const [d, w] of this.watchers) if (d.startsWith(path + '/')) { w.close(); this.watchers.delete(d); }
        if (before) { vanished.push({ path, snap: before }); this.snaps.delete(path); }
        continue;
      }
      if (!this.match(path)) continue;
      const after = await this.snapshot(path, st);
      this.snaps.set(path, after);
      if (!before) appeared.push({ path, snap: after });
      else changed.push({ path, before, after });
    }
    const byInode = new Map<string, { path: string; snap: Snap }>();
    for (const v of vanished) byInode.set(`${v.snap.dev}:${v.snap.ino}`, v);
    for (const a of appeared) {
      const from = byInode.get(`${a.snap.dev}:${a.snap.ino}`);
      if (from) { byInode.delete(`${a.snap.dev}:${a.snap.ino}`); this.report(a.path, 'moved', from.snap, a.snap, ['path'], from.path); }
      else this.report(a.path, 'created', undefined, a.snap, []);
    }
    for (const c of changed) {
      const { before, after } = c;
      const what: string[] = [];
      const replaced = before.ino !== after.ino || before.dev !== after.dev;
      let from: string | undefined;
      if (replaced) {
        const v = byInode.get(`${after.dev}:${after.ino}`);
        if (v) { byInode.delete(`${after.dev}:${after.ino}`); from = v.path; }
      }
      if (!after.dir) {
        if (before.size !== after.size) what.push('size');
        if (before.mtimeMs !== after.mtimeMs) what.push('mtime');
        if (before.sha256 !== after.sha256 && (before.sha256 !== undefined || after.sha256 !== undefined)) what.push('content');
      }
      if (before.mode !== after.mode) what.push('mode');
      if (before.uid !== after.uid) what.push('uid');
      if (before.gid !== after.gid) what.push('gid');
      if (replaced) what.push('inode');
      if (what.length === 0) continue;
      const hashed = after.sha256 !== undefined && before.sha256 !== undefined;
      const contentChanged = hashed ? what.includes('content') : what.includes('size') || what.includes('mtime') || replaced;
      this.report(c.path, contentChanged ? 'modified' : 'attributes', before, after, what, from);
    }
    for (const v of byInode.values()) this.report(v.path, 'deleted', v.snap, undefined, []);
  }

  private report(path: string, change: FileChange, before: Snap | undefined, after: Snap | undefined, what: string[], from?: string): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const s = after ?? before!;
    const attributes: Record<string, string> = {
      path,
      change,
      type: s.dir ? 'directory' : 'file',
    };
    if (what.length > 0) attributes.changed = what.join(',');
    if (after) {
      attributes.size = String(after.size);
      attributes.mode = after.mode.toString(8).padStart(4, '0');
      attributes.uid = String(after.uid);
      attributes.gid = String(after.gid);
      attributes.mtime = new Date(after.mtimeMs).toISOString();
      if (after.sha256) attributes.sha256 = after.sha256;
    }
    if (before?.sha256 && before.sha256 !== after?.sha256) attributes.previous_sha256 = before.sha256;
    if (from) attributes.from = from;
    if (what.includes('inode')) attributes.replaced = 'true';
    let description = `${path} ${change}`;
    if (change === 'moved' && from) description = `${from} moved to ${path}`;
    else if (what.length > 0) description += ` (${what.join(', ')})`;
    ctx.emit({ service: `file ${path}`, state: this.entry.state, description, attributes, tags: this.entry.tags, time: ctx.now() });
    this.resolver?.fired(`file ${path}`);
  }
}

/** `agent.files: [{ path, hash }]`: one listener per entry. */
export const filesMonitor = defineMonitor({
  key: 'files',
  schema: filesSchema,
  create(config) {
    return (config ?? []).map((e) => new FilesListener(e));
  },
});

