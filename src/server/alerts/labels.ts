import { anyGlob, type Matcher } from '../../core/glob.js';
import type { LabelMatch } from './config.js';
import type { Alert } from './types.js';

/** A compiled label matcher: every given label must match one of its globs. */
export type AlertMatcher = (a: Alert) => boolean;

export function labelMatcher(m: LabelMatch): AlertMatcher {
  const checks: ((a: Alert) => boolean)[] = [];
  for (const k of ['rule', 'host', 'service', 'severity', 'state'] as const) {
    const g = m[k];
    if (g === undefined) continue;
    const f: Matcher = anyGlob(g);
    checks.push((a) => f(a[k] ?? ''));
  }
  if (m.tags !== undefined) { const f = anyGlob(m.tags); checks.push((a) => a.tags.some(f)); }
  if (checks.length === 0) return () => true;
  return (a) => checks.every((c) => c(a));
}

export function labelValue(a: Alert, k: 'rule' | 'host' | 'service' | 'severity' | 'state'): string {
  return a[k] ?? '';
}
