import { spawn } from 'node:child_process';
import { z } from 'zod';
import { commonNotifierKeys, TemplatedNotifier, type NotificationPayload, type NotifierDeps } from '../notifier.js';

/** `{ type: exec, command: [argv…], env? }` (see README.md). */
export const execSchema = z.strictObject({
  type: z.literal('exec'),
  /** program and arguments, run directly (no shell); the notification JSON arrives on stdin */
  command: z.array(z.string().min(1)).min(1),
  env: z.record(z.string(), z.string().refine((v) => !v.includes('\0'), 'must not contain a NUL byte')).default({}),
  ...commonNotifierKeys,
});
export type ExecConfig = z.output<typeof execSchema>;

/**
 * The alert fields as BLICK_* variables. A value the environment cannot carry
 * (a NUL byte: spawn refuses it, and the retries would fail for as long as the
 * outbox keeps trying) is left out; the JSON on stdin still has it.
 */
function alertEnv(p: NotificationPayload, { title, body }: { title: string | undefined; body: string | undefined }): Record<string, string> {
  const out: Record<string, string> = {};
  const fields: [string, unknown][] = [['BLICK_STATUS', p.status], ['BLICK_RULE', p.rule], ['BLICK_SEVERITY', p.severity], ['BLICK_HOST', p.host], ['BLICK_SERVICE', p.service], ['BLICK_TITLE', title], ['BLICK_BODY', body]];
  for (const [k, v] of fields) if (typeof v === 'string' && !v.includes('\0')) out[k] = v;
  return out;
}

/**
 * Runs a program per notification with the webhook JSON on stdin. argv comes
 * from the configuration only and is never interpolated into a shell; alert
 * fields reach the program as stdin and BLICK_* environment variables. A
 * non-zero exit or the timeout (SIGKILL) is a failure, retried by the outbox.
 */
export class ExecNotifier extends TemplatedNotifier<ExecConfig> {
  readonly type = 'exec';

  send(p: NotificationPayload, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const [cmd, ...args] = this.config.command;
      const child = spawn(cmd!, args, {
        stdio: ['pipe', 'ignore', 'pipe'],
        shell: false,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.config.env, ...alertEnv(p, this.texts(p)) },
      });
      let stderr = '';
      let done = false;
      const finish = (err?: Error) => { if (done) return; done = true; signal.removeEventListener('abort', onAbort); err ? reject(err) : resolve(); };
      const onAbort = () => { child.kill('SIGKILL'); finish(new Error(`${cmd} killed: ${(signal.reason as Error)?.message ?? 'aborted'}`)); };
      if (signal.aborted) { onAbort(); return; }
      signal.addEventListener('abort', onAbort);
      child.stderr!.on('data', (b: Buffer) => { if (stderr.length < 2000) stderr += b.toString(); });
      child.on('error', (err) => finish(new Error(`cannot run ${cmd}: ${err.message}`)));
      child.on('close', (code, sig) => {
        if (code === 0) finish();
        else finish(new Error(`${cmd} exited ${code ?? sig}${stderr ? ': ' + stderr.trim().slice(0, 300) : ''}`));
      });
      child.stdin!.on('error', () => { /* the program need not read stdin */ });
      child.stdin!.end(JSON.stringify(p) + '\n');
    });
  }
}
