import { FilesListener, fileEntrySchema } from '../listeners/files/index.js';
import type { MonitorContext, MonitorEvent } from '../monitor.js';

/**
 * Watches one path with the files listener's machinery (one inotify watch on its
 * directory, so a file replaced by rename, as Puppet writes its catalog, stays
 * watched; a missing directory is retried) and calls `onChange` after a change
 * to it has settled, instead of emitting the listener's change events.
 */
export class PathWatch {
  private readonly listener: FilesListener;
  constructor(readonly path: string, private readonly onChange: (change: string) => void, debounceMs = 100, retryMs?: number) {
    this.listener = new FilesListener(fileEntrySchema.parse({ path, state: 'ok', debounce: `${debounceMs}ms` }), retryMs !== undefined ? { retryMs } : {});
  }

  async start(ctx: MonitorContext): Promise<void> {
    const service = `file ${this.path}`;
    const inner: MonitorContext = {
      host: ctx.host, log: ctx.log, now: () => ctx.now(),
      emit: (e: MonitorEvent) => { if (e.service === service) this.onChange(e.attributes?.change ?? 'modified'); },
    };
    await this.listener.start(inner);
  }

  stop(): Promise<void> { return this.listener.stop(); }
}
