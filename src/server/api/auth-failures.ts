export interface AuthFailuresOptions {
  /** failures from one address within `windowMs` before it is refused [10] */
  max: number;
  /** ms from an address's first failure until it may try again [60,000] */
  windowMs: number;
  /** addresses remembered; the oldest window is forgotten first [10,000] */
  maxAddresses: number;
  now?: () => number;
  /** called when an address is forgotten to stay within maxAddresses */
  onEvict?: () => void;
}

/**
 * Failed authentications per client address in fixed windows, so that a
 * token cannot be guessed at the speed of the network: after `max` failures
 * an address is refused until its window ends. Bounded in addresses (Map
 * order is window start order: the first key is the oldest).
 */
export class AuthFailures {
  private readonly byAddress = new Map<string, { since: number; count: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthFailuresOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** ms until `address` may try again; 0 when it may now */
  blockedFor(address: string): number {
    const e = this.byAddress.get(address);
    if (!e) return 0;
    const left = e.since + this.opts.windowMs - this.now();
    if (left <= 0) { this.byAddress.delete(address); return 0; }
    return e.count >= this.opts.max ? left : 0;
  }

  fail(address: string): void {
    const t = this.now();
    let e = this.byAddress.get(address);
    if (!e || t - e.since >= this.opts.windowMs) {
      this.byAddress.delete(address);
      e = { since: t, count: 0 };
      this.byAddress.set(address, e);
      while (this.byAddress.size > this.opts.maxAddresses) {
        this.byAddress.delete(this.byAddress.keys().next().value as string);
        this.opts.onEvict?.();
      }
    }
    e.count++;
  }

  /** addresses currently remembered */
  get size(): number { return this.byAddress.size; }
}
