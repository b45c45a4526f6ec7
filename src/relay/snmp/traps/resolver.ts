import { promises as dns } from 'node:dns';
import { EVENT_LIMITS } from '../../../core/event.js';

/** Options of a {@link ReverseNames}. */
export interface ReverseNamesOptions {
  /** DNS servers (`ip` or `ip:port`) [the system's] */
  servers?: string[] | undefined;
  timeoutMs: number;
  /** how long a name, or the lack of one, is kept */
  ttlMs: number;
  maxEntries: number;
  now: () => number;
  /** the PTR lookup [a dns.promises.Resolver on `servers`] */
  reverse?: (address: string) => Promise<string[]>;
  /** told how each lookup went: `hit` (cached), `resolved`, `failed` (no name, an error, an unusable name) or `timeout` */
  onOutcome?: (outcome: 'hit' | 'resolved' | 'failed' | 'timeout') => void;
}

interface Entry { expires: number; name: Promise<string | undefined> }

// a host name as an event may carry it: printable, no spaces, within the host length
const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/**
 * Reverse DNS for trap senders, bounded: at most `maxEntries` addresses are
 * kept (the least recently used goes first), each for `ttlMs`, failures too
 * (so a flood from an address without a name costs one lookup per ttl), and
 * each lookup gives up after `timeoutMs`. Traps from one address wait on the
 * same lookup, so they keep their order.
 */
export class ReverseNames {
  private readonly cache = new Map<string, Entry>();
  private readonly reverse: (address: string) => Promise<string[]>;

  constructor(private readonly opts: ReverseNamesOptions) {
    if (opts.reverse) this.reverse = opts.reverse;
    else {
      const resolver = new dns.Resolver({ timeout: opts.timeoutMs, tries: 1 });
      if (opts.servers && opts.servers.length > 0) resolver.setServers(opts.servers);
      this.reverse = (a) => resolver.reverse(a);
    }
  }

  /** Entries held (for /metrics and tests). */
  get size(): number { return this.cache.size; }

  /** The name of `address`, or undefined when it has none (or the lookup failed or timed out). Never rejects. */
  lookup(address: string): Promise<string | undefined> {
    const now = this.opts.now();
    const hit = this.cache.get(address);
    if (hit && hit.expires > now) {
      // most recently used last
      this.cache.delete(address);
      this.cache.set(address, hit);
      this.opts.onOutcome?.('hit');
      return hit.name;
    }
    const name = this.ask(address);
    this.cache.delete(address);
    this.cache.set(address, { expires: now + this.opts.ttlMs, name });
    while (this.cache.size > this.opts.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return name;
  }

  private ask(address: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (outcome: 'resolved' | 'failed' | 'timeout', name: string | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.opts.onOutcome?.(outcome);
        resolve(name);
      };
      const timer = setTimeout(() => finish('timeout', undefined), this.opts.timeoutMs);
      timer.unref();
      // a synchronous throw (a malformed address) is a failed lookup too
      Promise.resolve().then(() => this.reverse(address)).then((names) => {
        const first = names.map((n) => n.replace(/\.$/, '')).find((n) => n.length <= EVENT_LIMITS.hostLength && HOSTNAME.test(n));
        finish(first ? 'resolved' : 'failed', first);
      }, () => finish('failed', undefined));
    });
  }
}
