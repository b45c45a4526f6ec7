/**
 * Nagios flap detection: the last 21 states of a check, the percent of state
 * changes among them weighted from 0.75 (oldest) to 1.25 (newest), with
 * hysteresis: flapping starts above `high` percent and stops below `low`.
 * (Nagios Core, base/flapping.c, with MAX_STATE_HISTORY_ENTRIES = 21.)
 */
export const FLAP_HISTORY = 21;
const LOW_WEIGHT = 0.75, HIGH_WEIGHT = 1.25;

export class FlapDetector {
  private readonly states: string[] = [];
  flapping = false;
  percent = 0;
  constructor(private readonly low: number, private readonly high: number) {}

  /** Record a state; returns whether the check is flapping now. */
  record(state: string): boolean {
    this.states.push(state);
    if (this.states.length > FLAP_HISTORY) this.states.shift();
    this.percent = weightedChangePercent(this.states);
    if (!this.flapping && this.percent > this.high) this.flapping = true;
    else if (this.flapping && this.percent < this.low) this.flapping = false;
    return this.flapping;
  }
}

/** Weighted percent state change of a history (oldest first), as Nagios computes it. */
export function weightedChangePercent(states: readonly string[]): number {
  let changes = 0;
  // the weight of transition x grows linearly with its recency over a full 21-entry history
  const offset = FLAP_HISTORY - states.length;
  for (let i = 1; i < states.length; i++) {
    if (states[i] !== states[i - 1]) {
      const x = i + offset;
      changes += ((x - 1) * (HIGH_WEIGHT - LOW_WEIGHT)) / (FLAP_HISTORY - 2) + LOW_WEIGHT;
    }
  }
  return (changes * 100) / (FLAP_HISTORY - 1);
}
