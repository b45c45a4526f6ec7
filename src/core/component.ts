import type { Logger } from './log.js';

/**
 * The contract of every daemon part (Sensu's backend daemons): a name, start,
 * stop. A component that fails while running reports through `onError`.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts components in order and stops them in reverse. If one fails to start,
 * the ones already started are stopped again before the error is rethrown.
 */
export class Supervisor {
  private readonly started: Component[] = [];
  constructor(private readonly components: Component[], private readonly log?: Logger) {}

  async start(): Promise<void> {
    for (const c of this.components) {
      try {
        await c.start();
        this.started.push(c);
        this.log?.debug({ part: c.name }, 'started');
      } catch (err) {
        this.log?.error({ part: c.name, err }, 'failed to start');
        await this.stop();
        throw err;
      }
    }
  }

  async stop(): Promise<void> {
    while (this.started.length > 0) {
      const c = this.started.pop()!;
      try {
        await c.stop();
        this.log?.debug({ part: c.name }, 'stopped');
      } catch (err) {
        this.log?.error({ part: c.name, err }, 'failed to stop cleanly');
      }
    }
  }
}
