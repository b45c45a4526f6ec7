import type { BlickEvent } from '../../core/event.js';
import { ruleSchema, type RuleConfig, type RuleHooks } from '../rules/index.js';
import type { DesiredStateBook } from './book.js';
import { describeOrigin } from './derive.js';

/** The rule that alerts on a derived check that is not ok (nobody wrote it: it comes from the desired state). */
export const CLASSIFIED_RULE = 'classified';
/** The rule that alerts on a host known to a classification source whose agent does not report. */
export const NEVER_SEEN_RULE = 'never-seen';
/** The service of the server's `never seen` events. */
export const NEVER_SEEN_SERVICE = 'blick never seen';

/**
 * The built-in rules of server.classification.alert: `classified` (any non-ok
 * event of a check in the host's derived set; the hook below narrows it) and
 * `never-seen` (the server's `blick never seen` events). A configured rule of
 * the same name replaces one (and keeps the hook: `for: 5m` on `classified` still
 * only sees derived checks).
 */
export function classificationRules(): RuleConfig[] {
  return [
    ruleSchema.parse({ name: CLASSIFIED_RULE, when: 'state in ["warning", "critical", "unknown"]' }),
    ruleSchema.parse({ name: NEVER_SEEN_RULE, match: { service: NEVER_SEEN_SERVICE }, when: 'state == "critical" and source == "server"', severity: 'critical' }),
  ];
}

/** `rules` with the built-in classification rules added (unless turned off, or configured under the same name). */
export function withClassificationRules<R extends { name: string }>(rules: readonly R[], c: { alert: boolean }): (R | RuleConfig)[] {
  if (!c.alert) return [...rules];
  const names = new Set(rules.map((r) => r.name));
  return [...rules, ...classificationRules().filter((r) => !names.has(r.name))];
}

/** The `classified` rule's hook: it sees only the host's derived checks, and its alert names the resource and manifest line. */
export function classifiedHooks(book: DesiredStateBook): Record<string, RuleHooks> {
  return {
    [CLASSIFIED_RULE]: {
      accept: (e) => book.derivedCheck(e.host, e.service) !== undefined,
      describe: (e: BlickEvent) => {
        const d = book.derivedCheck(e.host, e.service);
        if (!d) return undefined;
        const from = d.origin.catalog ? `${d.origin.source} ${d.origin.catalog}` : d.origin.source;
        return `${describeOrigin(d.origin)} from ${from} is not as declared on ${e.host}: ${e.description || e.state}`;
      },
    },
  };
}
