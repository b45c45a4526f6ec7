import { BlickError } from './errors.js';
import type { Logger } from './log.js';

/** Hears a component's failure; called at most once per start. */
export type FailureListener = (err: Error) => void;

/**
 * The contract of every daemon part (Sensu's backend daemons): a name, start,
 * stop, and a failure signal. A component whose work dies while it runs (a
 * receive loop ends, a socket errors) reports it through the listeners given
 * to `onFailure` instead of only logging it, so its owner can stop the daemon
 * rather than run on deaf. `stop()` after a failure still releases what is
 * left. Components that cannot fail on their own omit `onFailure`.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  onFailure?(listener: FailureListener): void;
}

/**
 * The failure signal a component embeds: `fail()` reports once (later calls
 * are ignored until `reset()`), listeners hear it on a later tick so that a
 * loop reporting its own death has returned before anyone stops it.
 *
 * @example
 * readonly failures = new FailureSignal();
 * onFailure(l: FailureListener) { this.failures.listen(l); }
 * // in the loop's catch: this.failures.fail(new BlickError('COMPONENT_FAILED', 'ingest socket failed', { cause: err }));
 */
export class FailureSignal {
  private readonly listeners: FailureListener[] = [];
  private reason: Error | undefined;

  listen(listener: FailureListener): void { this.listeners.push(listener); }

  /** The failure reported since the last reset, if any. */
  get failed(): Error | undefined { return this.reason; }

  fail(err: Error): void {
    if (this.reason) return;
    this.reason = err;
    setImmediate(() => { for (const l of this.listeners) l(err); });
  }

  /** Arm again (at start). */
  reset(): void { this.reason = undefined; }
}

/** A component made of two functions (store open/close, timers, …). */
export function part(name: string, start: () => Promise<void> | void, stop: () => Promise<void> | void = () => undefined): Component {
  return { name, start: async () => { await start(); }, stop: async () => { await stop(); } };
}

/**
 * Starts components in order and stops them in reverse. If one fails to
 * start, the ones already started are stopped again before the error is
 * rethrown (a BlickError as is, anything else as COMPONENT_FAILED naming the
 * part). If one reports a failure while running, the failure is logged,
 * every component is stopped in reverse (once), and then the supervisor's own
 * failure listeners hear it: a supervisor is itself a component, so daemons
 * nest (the `blick up` process supervises the server, which supervises its
 * store, ingest, alerting, receiver, API and timers), and the process at the
 * top exits non-zero.
 */
export class Supervisor implements Component {
  private started: Component[] = [];
  private readonly failures = new FailureSignal();
  private stopping: Promise<void> | undefined;
  private starting = false;
  /** the first failure of a component that started, while starting the later ones */
  private failedDuringStart: Error | undefined;

  constructor(readonly name: string, private readonly components: Component[], private readonly log?: Logger) {
    for (const c of components) c.onFailure?.((err) => this.onComponentFailure(c, err));
  }

  onFailure(listener: FailureListener): void { this.failures.listen(listener); }

  /** The failure that stopped this supervisor, if one did. */
  get failed(): Error | undefined { return this.failures.failed; }

  async start(): Promise<void> {
    this.failures.reset();
    this.failedDuringStart = undefined;
    this.stopping = undefined;
    this.starting = true;
    try {
      for (const c of this.components) {
        try {
          await c.start();
        } catch (err) {
          this.log?.error({ part: c.name, err }, 'failed to start');
          await this.stopAll();
          // catalogued errors keep their code (and exit status); others say which part failed
          throw err instanceof BlickError ? err : new BlickError('COMPONENT_FAILED', `${c.name} failed to start: ${(err as Error).message}`, { cause: err });
        }
        this.started.push(c);
        this.log?.debug({ part: c.name }, 'started');
        if (this.failedDuringStart) {
          const err = this.failedDuringStart;
          await this.stopAll();
          throw err;
        }
      }
    } finally {
      this.starting = false;
    }
  }

  private onComponentFailure(c: Component, err: Error): void {
    if (!this.started.includes(c) || this.stopping) return; // not running (any more): nothing to stop for it
    const failure = new BlickError('COMPONENT_FAILED', `${c.name}: ${err.message}`, { cause: err });
    this.log?.error({ part: c.name, err }, 'component failed; stopping the others');
    if (this.starting) { this.failedDuringStart ??= failure; return; }
    void this.stopAll().then(() => this.failures.fail(failure));
  }

  /** Stop every started component in reverse; concurrent and repeated calls share one pass. */
  stop(): Promise<void> { return this.stopAll(); }

  private stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      while (this.started.length > 0) {
        const c = this.started.pop()!;
        try {
          await c.stop();
          this.log?.debug({ part: c.name }, 'stopped');
        } catch (err) {
          this.log?.error({ part: c.name, err }, 'failed to stop cleanly');
        }
      }
    })();
    return this.stopping;
  }
}
