import { alertingConfigKeys } from './config.js';

/**
 * The alerting `blick up` ships when nothing is configured (issue #12): any
 * check critical for a minute (an expiry is not a check's own verdict: that
 * is host-gone's, which also mutes the gone host's other alerts), a host gone
 * (its heartbeat's ttl ran out), a
 * disk above 90 % by the agent's disk observer (its series carries
 * `attributes.mount_point`; a Nagios check's perfdata in bytes does not), all
 * to the `log` notifier. docs/blick.example.yaml carries the same rules
 * (a test keeps them equal).
 */
export const DEFAULT_RULES = [
  { name: 'check-critical', when: 'state == "critical" and attributes.expired != "true"', for: '1m', severity: 'critical' },
  { name: 'host-gone', match: { service: 'heartbeat' }, expired: true, severity: 'critical' },
  { name: 'disk-full', match: { service: 'disk *' }, when: 'metric > 90 and attributes.mount_point != null', for: '5m', severity: 'critical' },
] as const;

export const DEFAULT_INHIBIT = [{ source_match: { rule: 'host-gone' }, target_match: {}, equal: ['host'] }] as const;

/** The default alerting keys, parsed as the `server:` section would parse them. */
export function defaultAlerting(): { [K in 'rules' | 'inhibit' | 'notifiers']: ReturnType<(typeof alertingConfigKeys)[K]['parse']> } {
  return {
    rules: alertingConfigKeys.rules.parse(DEFAULT_RULES),
    inhibit: alertingConfigKeys.inhibit.parse(DEFAULT_INHIBIT),
    // no routes: every notifier gets every alert
    notifiers: alertingConfigKeys.notifiers.parse({ log: { type: 'log' } }),
  };
}
