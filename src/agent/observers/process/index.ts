import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { zDuration } from '../../../core/config.js';
import { defineMonitor, type MonitorContext, type Observer } from '../../monitor.js';
import { defaultProcRoot } from '../common.js';

const STATES = ['ok', 'warning', 'critical', 'unknown'] as const;

/** One expected process: by name (the kernel's `comm`, or a regex on the command line) or by pid file. */
export const processEntrySchema = z.strictObject({
  /** the event is `process <name>`; also matched against /proc/<pid>/comm unless `cmdline` or `pidfile` is set */
  name: z.string().min(1),
  /** a regular expression on the full command line instead of the name */
  cmdline: z.string().refine((p) => { try { new RegExp(p); return true; } catch { return false; } }, 'is not a valid regular expression').optional(),
  /** the process whose pid this file holds must be running */
  pidfile: z.string().optional(),
  /** fewer matching processes than this is the failure state (default 1) */
  min: z.number().int().min(0).default(1),
  /** more than this is the failure state too (default: no limit) */
  max: z.number().int().min(0).optional(),
  /** the state when the count is out of range (default critical) */
  state: z.enum(STATES).default('critical'),
});

/** `agent.process`: off unless configured (hosts with systemd use the systemd listener). */
export const processSchema = z.strictObject({
  interval: zDuration.default(10_000),
  processes: z.array(processEntrySchema).min(1),
});
export type ProcessConfig = z.output<typeof processSchema>;
export type ProcessEntry = z.output<typeof processEntrySchema>;

/** A process as /proc shows it. */
export interface ProcInfo { pid: number; comm: string; cmdline: string }

/** Lists processes from /proc (kernel threads have an empty command line). Vanished ones are skipped. */
export async function listProcesses(procRoot: string): Promise<ProcInfo[]> {
  const names = await readdir(procRoot);
  const out: ProcInfo[] = [];
  await Promise.all(names.map(async (n) => {
    if (!/^\d+$/.test(n)) return;
    try {
      const [comm, cmdline] = await Promise.all([
        readFile(join(procRoot, n, 'comm'), 'utf8'),
        readFile(join(procRoot, n, 'cmdline'), 'utf8').catch(() => ''),
      ]);
      out.push({ pid: Number(n), comm: comm.trim(), cmdline: cmdline.replace(/\0+$/, '').replace(/\0/g, ' ') });
    } catch { /* exited meanwhile */ }
  }));
  return out.sort((a, b) => a.pid - b.pid);
}

/**
 * Process presence for hosts without systemd: `process <name>`, metric = number
 * of matching processes, state ok when the count is within [min, max], else
 * the configured state (critical). A pid file names one process that must exist.
 */
export class ProcessObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'process';
  readonly intervalMs: number;
  private readonly regexes: (RegExp | undefined)[];

  constructor(private readonly config: ProcessConfig, private readonly procRoot = defaultProcRoot()) {
    this.intervalMs = config.interval;
    this.regexes = config.processes.map((p) => (p.cmdline ? new RegExp(p.cmdline) : undefined));
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const needList = this.config.processes.some((p) => !p.pidfile);
    const procs = needList ? await listProcesses(this.procRoot) : [];
    const time = ctx.now();
    for (let i = 0; i < this.config.processes.length; i++) {
      const p = this.config.processes[i]!;
      let pids: number[] = [];
      let why = '';
      if (p.pidfile) {
        let pid: number | undefined;
        try {
          const text = (await readFile(p.pidfile, 'utf8')).trim();
          if (/^\d+$/.test(text)) pid = Number(text); else why = `pid file ${p.pidfile} does not hold a pid`;
        } catch (err) { why = `cannot read pid file ${p.pidfile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`; }
        if (pid !== undefined) {
          try {
            await readFile(join(this.procRoot, String(pid), 'comm'), 'utf8');
            pids = [pid];
          } catch { why = `pid ${pid} from ${p.pidfile} is not running`; }
        }
      } else {
        const re = this.regexes[i];
        pids = procs.filter((x) => (re ? x.cmdline !== '' && re.test(x.cmdline) : x.comm === p.name.slice(0, 15))).map((x) => x.pid);
      }
      const n = pids.length;
      const ok = n >= p.min && (p.max === undefined || n <= p.max);
      const range = p.max === undefined ? `at least ${p.min}` : `${p.min}..${p.max}`;
      ctx.emit({
        service: `process ${p.name}`, metric: n, time,
        state: ok ? 'ok' : p.state,
        description: why || `${n} process${n === 1 ? '' : 'es'} (expected ${range})`,
        attributes: { count: String(n), pids: pids.slice(0, 50).join(','), ...(p.pidfile ? { pidfile: p.pidfile } : {}) },
      });
    }
  }
}

export const processMonitor = defineMonitor({
  key: 'process',
  schema: processSchema,
  create(config) {
    return config ? [new ProcessObserver(config)] : [];
  },
});
