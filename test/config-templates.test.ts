import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { deferrals, runBlick, tempDir } from './fixtures/blick.js';

/** issue #12 missing 7: a notification template naming an unknown variable, or broken, is refused at load with FILE:LINE. */
test('check-config refuses a template with an unknown variable or bad syntax at its line, and accepts known names', async (t) => {
  const { dir, cleanup } = tempDir();
  deferrals(t)(cleanup);
  const file = join(dir, 'blick.yaml');
  writeFileSync(file, `server:
  notifiers:
    pager:
      type: pagerduty
      routing_key: R0UT1NGKEY
      title_template: "{{rule}} on {{hots}}"
    ops:
      type: webhook
      url: http://127.0.0.1:9000/hook
      body_template: '{"text": "{{#tags}}{{.}}"}'
`);
  const bad = await runBlick(['check-config', file]);
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, new RegExp(`blick\\.yaml:6: key server\\.notifiers\\.pager\\.title_template: template reads unknown variable "hots"`));
  assert.match(bad.stderr, new RegExp(`blick\\.yaml:10: key server\\.notifiers\\.ops\\.body_template: template does not close the section "\\{\\{#tags\\}\\}"`));
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');

  writeFileSync(file, `server:
  notifiers:
    pager: { type: pagerduty, routing_key: k, title_template: "{{rule}} on {{host}} ({{attributes.mount}})", body_template: "{{#tags}}#{{.}} {{/tags}}{{event.source}}" }
    og: { type: opsgenie, api_key: k, title_template: "{{severity}}: {{service}}" }
`);
  const good = await runBlick(['check-config', file]);
  assert.equal(good.code, 0, good.stderr);
});
