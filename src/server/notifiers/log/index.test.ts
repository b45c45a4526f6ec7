import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from '../../../core/metrics.js';
import { samplePayload } from '../testdata/payload.js';
import { LogNotifier, logSchema } from './index.js';

/** A logger writing JSON lines into an array. */
function recorder(): { lines: Record<string, unknown>[]; log: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (l: string) => { lines.push(JSON.parse(l)); } }) };
}

test('log writes one structured line per notification, at its level, without the event and with the description capped', async () => {
  const { lines, log } = recorder();
  const n = new LogNotifier('log', logSchema.parse({ type: 'log', max_description: 16 }), { log });
  await n.send(samplePayload, AbortSignal.timeout(1000));
  await n.send({ ...samplePayload, status: 'resolved', endsAt: '2026-01-01T00:05:00.000Z', description: 'x'.repeat(100) }, AbortSignal.timeout(1000));
  assert.equal(lines.length, 2);
  const [firing, resolved] = lines as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(firing.level, 40, 'warn by default');
  assert.equal(firing.msg, 'alert firing');
  assert.deepEqual({ notifier: firing.notifier, rule: firing.rule, host: firing.host, service: firing.service, severity: firing.severity, metric: firing.metric },
    { notifier: 'log', rule: 'disk-full', host: 'db-1', service: 'disk /var', severity: 'critical', metric: 97 });
  assert.equal(firing.event, undefined);
  assert.equal(resolved.msg, 'alert resolved');
  assert.equal(resolved.endsAt, '2026-01-01T00:05:00.000Z');
  assert.equal(resolved.description, 'x'.repeat(16) + '…');
  assert.throws(() => logSchema.parse({ type: 'log', level: 'loud' }));
});

test('log templates: title_template is the message of the line, body_template a `body` field; a cut body is counted', async () => {
  const { lines, log } = recorder();
  const metrics = new Registry();
  const n = new LogNotifier('log', logSchema.parse({ type: 'log', title_template: '{{status}}: {{rule}} on {{host}}', body_template: '{{description}}', template_max_length: 64 }), { log, metrics });
  await n.send({ ...samplePayload, description: 'y'.repeat(100) }, AbortSignal.timeout(1000));
  assert.equal(lines[0]!.msg, 'firing: disk-full on db-1');
  assert.equal(lines[0]!.body, 'y'.repeat(64));
  assert.match(metrics.render(), /blick_notification_templates_truncated_total\{notifier="log"\} 1/);
});
