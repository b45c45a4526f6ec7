/**
 * A retry delay that doubles from `firstMs` up to `maxMs`, whose sleep
 * {@link cancel} ends at once (the agent stopping must not wait for it).
 */
export class Backoff {
  private delay: number;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  constructor(private readonly firstMs: number, private readonly maxMs: number) { this.delay = firstMs; }

  /** The delay the next {@link sleep} waits. */
  get nextMs(): number { return this.delay; }

  /** Waits the current delay, then doubles it. */
  async sleep(): Promise<void> {
    await new Promise<void>((r) => { this.wake = r; this.timer = setTimeout(r, this.delay); });
    this.wake = undefined;
    this.delay = Math.min(this.delay * 2, this.maxMs);
  }

  /** After a success: the next failure waits the first delay again. */
  reset(): void { this.delay = this.firstMs; }

  /** Ends a sleep going on now. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}
