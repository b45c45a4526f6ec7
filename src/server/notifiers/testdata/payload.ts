import type { NotificationPayload } from '../notifier.js';

/** A notification as the router builds it, for notifier tests. */
export const samplePayload: NotificationPayload = {
  status: 'firing', rule: 'disk-full', severity: 'critical', host: 'db-1', service: 'disk /var', state: 'critical', metric: 97,
  description: '/var is 97% full', startsAt: '2026-01-01T00:00:00.000Z', endsAt: null,
  event: { id: 'e1', host: 'db-1', service: 'disk /var', state: 'critical', metric: 97, description: '/var is 97% full', tags: [], attributes: { mount: '/var' }, time: 1767225600000, source: 'agent' },
};
