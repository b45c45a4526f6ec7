import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { zDuration } from '../../../core/config.js';
import { defineMonitor, type MonitorContext, type Observer } from '../../monitor.js';
import { GlobSet } from '../../listeners/glob.js';
import { defaultProcRoot, observerBase, round2, thresholdState, worse } from '../common.js';

/** Filesystems that hold no user data (kernel interfaces, memory, images). */
export const PSEUDO_FS = [
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'tmpfs', 'cgroup', 'cgroup2', 'pstore', 'bpf', 'tracefs', 'debugfs',
  'securityfs', 'mqueue', 'hugetlbfs', 'fusectl', 'configfs', 'binfmt_misc', 'autofs', 'nsfs', 'rpc_pipefs',
  'efivarfs', 'ramfs', 'selinuxfs', 'squashfs', 'iso9660', 'devfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'fuse.lxcfs',
];

/** `agent.disk`: every real filesystem, on by default. */
export const diskSchema = z.strictObject({
  ...observerBase,
  /** used percent for warning (default 85) */
  warning: z.number().min(0).max(100).default(85),
  /** used percent for critical (default 95) */
  critical: z.number().min(0).max(100).default(95),
  /** inodes used percent for warning (default 85) */
  inodes_warning: z.number().min(0).max(100).default(85),
  inodes_critical: z.number().min(0).max(100).default(95),
  /** only these mount points (globs); default: all */
  mount_points: z.array(z.string()).default([]),
  /** filesystem types to skip, added to the built-in pseudo filesystems */
  ignore_fs: z.array(z.string()).default([]),
  /** a statfs that takes longer (a hung NFS server) reports unknown (default 5s) */
  timeout: zDuration.default(5000),
});
export type DiskConfig = z.output<typeof diskSchema>;

export interface Mount { device: string; mountPoint: string; fstype: string }

/** `\040` and friends in /proc/mounts are octal escapes. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/mounts; malformed lines are skipped. */
export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3 || !f[1]!.startsWith('/')) continue;
    out.push({ device: unescapeMount(f[0]!), mountPoint: unescapeMount(f[1]!), fstype: f[2]! });
  }
  return out;
}

/** What fs.statfs answers (the fields used). */
export interface FsStats { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }
export type StatFs = (path: string) => Promise<FsStats>;

/**
 * Disk space and inodes per mounted filesystem: `disk <mount point>`, metric =
 * used percent as df computes it (used / (used + available to users)), state
 * from space and inodes, attributes with bytes and inodes. Pseudo filesystems
 * are skipped; a filesystem mounted twice (bind mounts) is reported once.
 */
export class DiskObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'disk';
  readonly intervalMs: number;
  private readonly ignore: Set<string>;
  private readonly only: GlobSet;
  private readonly timeoutMs: number;

  constructor(private readonly config: DiskConfig, private readonly procRoot = defaultProcRoot(), private readonly statFs: StatFs = (p) => statfs(p)) {
    this.intervalMs = config.interval;
    this.ignore = new Set([...PSEUDO_FS, ...config.ignore_fs]);
    this.only = new GlobSet(config.mount_points);
    this.timeoutMs = config.timeout;
  }

  /** The mounts to report, after filtering and de-duplication. */
  async mounts(): Promise<Mount[]> {
    const all = parseMounts(await readFile(join(this.procRoot, 'mounts'), 'utf8'));
    const seen = new Map<string, Mount>();
    for (const m of all) {
      if (this.ignore.has(m.fstype)) continue;
      if (!this.only.empty && !this.only.has(m.mountPoint)) continue;
      const key = `${m.device} ${m.fstype}`;
      const prev = seen.get(key);
      // keep the shortest mount point of a device (`/` rather than a bind mount of a file under it)
      if (!prev || m.mountPoint.length < prev.mountPoint.length) seen.set(key, m);
    }
    return [...seen.values()];
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const mounts = await this.mounts();
    await Promise.all(mounts.map(async (m) => {
      const service = `disk ${m.mountPoint}`;
      let st: FsStats;
      let timer: NodeJS.Timeout | undefined;
      try {
        st = await Promise.race([
          this.statFs(m.mountPoint),
          new Promise<never>((_r, rej) => { timer = setTimeout(() => rej(new Error(`statfs took longer than ${this.timeoutMs} ms`)), this.timeoutMs); }),
        ]);
      } catch (err) {
        ctx.emit({ service, state: 'unknown', description: `cannot read ${m.mountPoint}: ${(err as Error).message}`, attributes: { mount_point: m.mountPoint, device: m.device, fstype: m.fstype }, time: ctx.now() });
        return;
      } finally {
        if (timer) clearTimeout(timer);
      }
      if (st.blocks === 0) return; // nothing to fill (a pseudo filesystem not in the list)
      const used = (st.blocks - st.bfree) * st.bsize;
      const avail = st.bavail * st.bsize;
      const pct = used + avail > 0 ? round2((used / (used + avail)) * 100) : 0;
      const inodesUsed = st.files - st.ffree;
      const inodesPct = st.files > 0 ? round2((inodesUsed / st.files) * 100) : 0;
      const state = worse(
        thresholdState(pct, this.config.warning, this.config.critical),
        thresholdState(inodesPct, this.config.inodes_warning, this.config.inodes_critical),
      );
      ctx.emit({
        service, metric: pct, state, time: ctx.now(),
        description: `${m.mountPoint} ${pct}% used, ${gib(avail)} free; inodes ${inodesPct}% used`,
        attributes: {
          mount_point: m.mountPoint, device: m.device, fstype: m.fstype,
          total_bytes: String(st.blocks * st.bsize), used_bytes: String(used), free_bytes: String(avail),
          inodes_total: String(st.files), inodes_free: String(st.ffree), inodes_used_percent: String(inodesPct),
        },
      });
    }));
  }
}

function gib(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${Math.round(n / (1 << 20))} MiB`;
}

export const diskMonitor = defineMonitor({
  key: 'disk',
  schema: diskSchema,
  create(config) {
    const c = config ?? diskSchema.parse({});
    return c.enabled ? [new DiskObserver(c)] : [];
  },
});
