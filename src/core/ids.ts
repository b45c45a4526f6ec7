import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32, as ULID

/**
 * Monotonic ULID generator: 48-bit millisecond time + 80 bits of randomness,
 * incremented within the same millisecond so ids sort in creation order.
 * Randomness comes in blocks to keep the per-id cost low on hot paths.
 */
export class UlidFactory {
  private lastTime = -1;
  private readonly rand = new Uint8Array(10);
  private pool = Buffer.alloc(0);
  private poolPos = 0;

  constructor(private readonly now: () => number = Date.now) {}

  next(time: number = this.now()): string {
    if (time <= this.lastTime) {
      // same (or earlier) millisecond: increment the random part
      for (let i = 9; i >= 0; i--) {
        if (this.rand[i] === 255) { this.rand[i] = 0; continue; }
        this.rand[i]!++;
        break;
      }
      time = this.lastTime;
    } else {
      this.lastTime = time;
      if (this.poolPos + 10 > this.pool.length) { this.pool = randomBytes(4096); this.poolPos = 0; }
      for (let i = 0; i < 10; i++) this.rand[i] = this.pool[this.poolPos++]!;
      this.rand[0]! &= 0x7f; // leave headroom so increments rarely overflow
    }
    return encodeUlid(time, this.rand);
  }
}

/** A ULID's text: 48-bit millisecond `time` (10 characters), then the first 10 bytes of `rand` (16 characters). */
export function encodeUlid(time: number, rand: Uint8Array): string {
  let t = time;
  const timeChars: string[] = new Array(10);
  for (let i = 9; i >= 0; i--) { timeChars[i] = ALPHABET[t % 32]!; t = Math.floor(t / 32); }
  let out = timeChars.join('');
  // 80 bits → 16 chars, 5 bits each
  let acc = 0, bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | rand[i]!; bits += 8;
    while (bits >= 5) { bits -= 5; out += ALPHABET[(acc >> bits) & 31]; }
    acc &= (1 << bits) - 1;
  }
  return out;
}

const shared = new UlidFactory();
/** A new ULID from the process-wide factory. */
export function ulid(time?: number): string { return shared.next(time); }
