import { pino } from 'pino';
import type { MonitorContext, MonitorEvent } from '../monitor.js';

/** A MonitorContext for tests: collects what is emitted, with a settable clock. */
export interface RecordingContext extends MonitorContext {
  readonly events: MonitorEvent[];
  clock: number;
  /** resolves with the first event (already recorded or still to come) for which `pred` is true */
  waitFor(pred: (e: MonitorEvent) => boolean, timeoutMs?: number): Promise<MonitorEvent>;
}

export function recordingContext(opts: { host?: string; realClock?: boolean } = {}): RecordingContext {
  const waiters: { pred: (e: MonitorEvent) => boolean; resolve: (e: MonitorEvent) => void }[] = [];
  const ctx: RecordingContext = {
    host: opts.host ?? 'test-host',
    events: [],
    clock: 1_700_000_000_000,
    log: pino({ level: process.env.BLICK_LOG_LEVEL ?? 'silent' }),
    now: () => (opts.realClock ? Date.now() : ctx.clock),
    emit(e) {
      ctx.events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(e)) { waiters[i]!.resolve(e); waiters.splice(i, 1); }
      }
    },
    waitFor(pred, timeoutMs = 5000) {
      const seen = ctx.events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got: ${JSON.stringify(ctx.events.slice(-10))}`)), timeoutMs);
        waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e); } });
      });
    },
  };
  return ctx;
}
