import { BlickError } from '../../core/errors.js';
import { ulid } from '../../core/ids.js';
import { glob } from '../../core/glob.js';
import type { Clock } from './clock.js';
import type { AlertStore } from './store.js';
import type { Alert, Silence, SilenceMatchers } from './types.js';

/** What POST /api/v1/silences accepts (times in unix ms). */
export interface SilenceInput {
  matchers: SilenceMatchers;
  startsAt?: number | undefined;
  endsAt: number;
  author: string;
  reason: string;
}

/** The longest a silence may run, from now: one year. Beyond it, a typo such as 99999999999999999999h. */
export const MAX_SILENCE_MS = 366 * 86_400_000;

export type SilenceStatus = 'pending' | 'active' | 'expired';

/**
 * Silences mute notifications of matching alerts between startsAt and endsAt;
 * alerts keep their state. Deleting a silence expires it: it stays for audit.
 * `onChange` runs when a silence starts or ends so muted alerts are re-routed.
 */
export class Silences {
  private list: Silence[] = [];
  private timers = new Set<unknown>();

  constructor(private readonly store: AlertStore, private readonly clock: Clock, private readonly onChange: () => void) {}

  async load(): Promise<void> {
    this.list = await this.store.silences();
    for (const s of this.list) this.arm(s);
  }

  all(): (Silence & { status: SilenceStatus })[] {
    const now = this.clock.now();
    return this.list.map((s) => ({ ...s, status: statusOf(s, now) }));
  }

  get(id: string): Silence | undefined { return this.list.find((s) => s.id === id); }

  async add(input: SilenceInput): Promise<Silence> {
    const now = this.clock.now();
    const m = input.matchers;
    if (!m.host && !m.service && !m.rule && !m.severity) throw new BlickError('BAD_REQUEST', 'a silence needs at least one matcher (host, service, rule or severity)');
    const startsAt = input.startsAt ?? now;
    if (!(input.endsAt > startsAt) || input.endsAt <= now) throw new BlickError('BAD_REQUEST', 'a silence must end after it starts and in the future');
    if (input.endsAt - now > MAX_SILENCE_MS) throw new BlickError('BAD_REQUEST', `a silence may end at most ${MAX_SILENCE_MS / 86_400_000} days from now (endsAt ${new Date(Math.min(input.endsAt, 8.64e15)).toISOString()})`);
    const s: Silence = { id: ulid(now), matchers: clean(m), startsAt, endsAt: input.endsAt, author: input.author, reason: input.reason, createdAt: now };
    await this.store.saveSilence(s);
    this.list.push(s);
    this.arm(s);
    this.onChange();
    return s;
  }

  /** Expire a silence now (kept for audit). */
  async expire(id: string): Promise<Silence> {
    const s = this.get(id);
    if (!s) throw new BlickError('NOT_FOUND', `no silence ${id} (see GET /api/v1/silences)`);
    const now = this.clock.now();
    if (s.endsAt > now) {
      s.endsAt = now;
      if (s.startsAt > now) s.startsAt = now;
      await this.store.saveSilence(s);
      this.onChange();
    }
    return s;
  }

  /** The active silence muting this alert, if any. */
  muting(a: Alert, now = this.clock.now()): Silence | undefined {
    for (const s of this.list) {
      if (s.startsAt > now || s.endsAt <= now) continue;
      const m = s.matchers;
      if (m.host !== undefined && !glob(m.host)(a.host)) continue;
      if (m.service !== undefined && !glob(m.service)(a.service)) continue;
      if (m.rule !== undefined && !glob(m.rule)(a.rule)) continue;
      if (m.severity !== undefined && !glob(m.severity)(a.severity)) continue;
      return s;
    }
    return undefined;
  }

  stop(): void {
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
  }

  private arm(s: Silence): void {
    for (const at of [s.startsAt, s.endsAt]) this.armAt(at);
  }

  private armAt(at: number): void {
    const now = this.clock.now();
    if (at <= now) return;
    // timers run at most ~24.8 days ahead: one that fires early sets the next
    const t = this.clock.setTimeout(() => { this.timers.delete(t); if (this.clock.now() < at) this.armAt(at); else this.onChange(); }, at - now);
    this.timers.add(t);
  }
}

function clean(m: SilenceMatchers): SilenceMatchers {
  const out: SilenceMatchers = {};
  for (const k of ['host', 'service', 'rule', 'severity'] as const) if (typeof m[k] === 'string' && m[k] !== '') out[k] = m[k];
  return out;
}

export function statusOf(s: Silence, now: number): SilenceStatus {
  return s.endsAt <= now ? 'expired' : s.startsAt > now ? 'pending' : 'active';
}
