import { spawn } from 'node:child_process';
import type { CheckConfig } from '../../core/check-config.js';
import type { State } from '../../core/event.js';
import type { MonitorContext, Observer } from '../monitor.js';
import { parsePluginOutput } from './perfdata.js';

/** One entry of `agent.checks` (a Nagios plugin); the schema is shared with the server's `server.checks`. */
export { checkConfigSchema, type CheckConfig } from '../../core/check-config.js';

/**
 * The series of one perfdata item: `check <name> <label>`. The `check` prefix keeps a
 * plugin's numbers off the built-in observers' series (`check_disk` named `disk` sends
 * `/` in bytes, the disk observer `disk /` in percent) and out of their rules' globs.
 *
 * @example perfdataService('disk', '/') // 'check disk /'
 */
export function perfdataService(check: string, label: string): string { return `check ${check} ${label}`; }

const EXIT_STATES: State[] = ['ok', 'warning', 'critical', 'unknown'];
const MAX_CAPTURE = 64 * 1024;
/** how long output is still read after the plugin exited or was killed */
const PIPE_GRACE_MS = 500;

export interface PluginResult { exitCode: number | null; output: string; timedOut: boolean; error?: string; durationMs: number }

/** Run a plugin without a shell, killing its whole process group on timeout. */
export function runPlugin(command: string[], timeoutMs: number, env?: Record<string, string>): Promise<PluginResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(command[0]!, command.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    const take = (b: Buffer) => { if (output.length < MAX_CAPTURE) output += b.toString('utf8'); };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    // A descendant that left the process group (setsid, a daemon it started) can hold the
    // pipes open after the plugin is gone: 'close' would never come and the check would
    // never run again. Once the plugin has exited or been killed, wait a moment, then stop.
    let grace: NodeJS.Timeout | undefined;
    const stopWaiting = () => {
      grace ??= setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done({ exitCode: child.exitCode, output, timedOut });
      }, PIPE_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
      stopWaiting();
    }, timeoutMs);
    const done = (r: Omit<PluginResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      resolve({ ...r, durationMs: performance.now() - t0 });
    };
    child.on('error', (err) => done({ exitCode: null, output, timedOut: false, error: err.message }));
    child.on('exit', stopWaiting);
    child.on('close', (code) => done({ exitCode: code, output, timedOut }));
  });
}

/**
 * A Nagios-plugin check as an observer: exit 0/1/2/3 → ok/warning/critical/unknown,
 * the first output line → description, perfdata → one metric event per item
 * (service {@link perfdataService}).
 */
export class NagiosCheck implements Observer {
  readonly kind = 'observer' as const;
  readonly name: string;
  readonly intervalMs: number;
  constructor(private readonly c: CheckConfig) {
    this.name = `check ${c.name}`;
    this.intervalMs = c.interval;
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const c = this.c;
    const r = await runPlugin(c.command, c.timeout, c.env);
    const ttl = c.ttl ?? Math.ceil((3 * c.interval + c.timeout) / 1000);
    let state: State;
    let description: string;
    const parsed = parsePluginOutput(r.output);
    if (r.error) { state = 'unknown'; description = `cannot run ${c.command[0]}: ${r.error}`; }
    else if (r.timedOut) { state = c.timeout_state; description = `check timed out after ${c.timeout / 1000}s`; }
    else if (r.exitCode !== null && r.exitCode >= 0 && r.exitCode <= 3) { state = EXIT_STATES[r.exitCode]!; description = parsed.text; }
    else { state = 'unknown'; description = `plugin exited with ${r.exitCode ?? 'a signal'}${parsed.text ? ': ' + parsed.text : ''}`; }
    const attributes: Record<string, string> = { command: c.command[0]!, duration_ms: r.durationMs.toFixed(1) };
    if (r.exitCode !== null) attributes.exit_code = String(r.exitCode);
    if (parsed.longText) attributes.long_output = parsed.longText.slice(0, 8000);
    ctx.emit({ service: c.name, state, description: description.slice(0, 32 * 1024), attributes, tags: c.tags, ...(ttl > 0 ? { ttl } : {}) });
    for (const p of parsed.perf) {
      const a: Record<string, string> = { check: c.name };
      if (p.uom) a.uom = p.uom;
      if (p.warn !== undefined) a.warn = p.warn;
      if (p.crit !== undefined) a.crit = p.crit;
      if (p.min !== undefined) a.min = String(p.min);
      if (p.max !== undefined) a.max = String(p.max);
      ctx.emit({ service: perfdataService(c.name, p.label), metric: p.value, attributes: a, tags: c.tags, ...(ttl > 0 ? { ttl } : {}) });
    }
  }
}
