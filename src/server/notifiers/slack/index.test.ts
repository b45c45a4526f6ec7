import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { samplePayload } from '../testdata/payload.js';
import { SlackNotifier, slackMessage, slackSchema } from './index.js';

test('the Slack message has a text line and a coloured attachment with the alert fields, posted to the incoming webhook', async (t) => {
  const m = slackMessage(samplePayload, { channel: '#ops', username: 'Blick' }) as any;
  assert.match(m.text, /FIRING\* disk-full on db-1 — disk \/var/);
  assert.equal(m.channel, '#ops');
  assert.equal(m.attachments[0].color, '#d00000');
  assert.equal(m.attachments[0].text, '/var is 97% full');
  assert.deepEqual(m.attachments[0].fields.map((f: any) => f.title), ['Severity', 'State', 'Metric', 'Since']);
  const r = slackMessage({ ...samplePayload, status: 'resolved', endsAt: '2026-01-01T01:00:00.000Z' }, { username: 'Blick' }) as any;
  assert.equal(r.attachments[0].color, '#2eb886');
  assert.equal(r.channel, undefined);

  const got: any[] = [];
  const srv = createServer((req, res) => { let raw = ''; req.on('data', (b) => { raw += b; }); req.on('end', () => { got.push(JSON.parse(raw)); res.writeHead(200).end('ok'); }); });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  t.after(() => new Promise<void>((res) => { srv.closeAllConnections(); srv.close(() => res()); }));
  const n = new SlackNotifier('chat', slackSchema.parse({ type: 'slack', url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/services/T/B/X` }));
  await n.send(samplePayload, AbortSignal.timeout(5000));
  assert.equal(got[0].username, 'Blick');
  assert.match(got[0].text, /disk-full/);
});

test('slack templates: title_template is the text line, body_template the attachment text; values are escaped for Slack (& < >), the template text is not', async (t) => {
  const got: any[] = [];
  const srv = createServer((req, res) => { let raw = ''; req.on('data', (b) => { raw += b; }); req.on('end', () => { got.push(JSON.parse(raw)); res.writeHead(200).end('ok'); }); });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  t.after(() => new Promise<void>((res) => { srv.closeAllConnections(); srv.close(() => res()); }));
  const n = new SlackNotifier('chat', slackSchema.parse({ type: 'slack', url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/x`, title_template: '<!here> {{host}}', body_template: '{{description}}' }));
  await n.send({ ...samplePayload, host: '<!channel> & co', description: 'a <b> "c"' }, AbortSignal.timeout(5000));
  assert.equal(got[0].text, '<!here> &lt;!channel&gt; &amp; co');
  assert.equal(got[0].attachments[0].text, 'a &lt;b&gt; "c"');
});
