import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { samplePayload } from '../testdata/payload.js';
import { EmailNotifier, emailSchema } from './index.js';

test('email is delivered over real SMTP (smtp-server on loopback) with subject, body and recipients; a refused RCPT is a failure', async (t) => {
  const mails: { from: string; to: string[]; data: string }[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onRcptTo(addr, _s, cb) { cb(addr.address.endsWith('@example.com') ? undefined : new Error('no such user')); },
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (b: Buffer) => { data += b.toString(); });
      stream.on('end', () => { mails.push({ from: String((session.envelope.mailFrom as { address: string }).address), to: session.envelope.rcptTo.map((r) => r.address), data }); cb(); });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.server.address() as AddressInfo).port;
  const n = new EmailNotifier('mail', emailSchema.parse({ type: 'email', smtp: `smtp://127.0.0.1:${port}`, from: 'blick@example.com', to: ['ops@example.com', 'dba@example.com'] }));
  t.after(() => n.close());
  await n.send(samplePayload, AbortSignal.timeout(10_000));
  assert.equal(mails.length, 1);
  assert.equal(mails[0]!.from, 'blick@example.com');
  assert.deepEqual(mails[0]!.to, ['ops@example.com', 'dba@example.com']);
  assert.match(mails[0]!.data, /Subject: \[FIRING:critical\] disk-full db-1 disk \/var/);
  assert.match(mails[0]!.data, /\/var is 97% full/);
  assert.match(mails[0]!.data, /X-Blick-Rule: disk-full/);
  const bad = new EmailNotifier('mail', emailSchema.parse({ type: 'email', smtp: `smtp://127.0.0.1:${port}`, to: ['nobody@elsewhere.org'] }));
  t.after(() => bad.close());
  await assert.rejects(bad.send(samplePayload, AbortSignal.timeout(10_000)), /SMTP delivery failed/);
});

test('email templates: title_template is the subject (on one line), body_template the plain-text body, values unescaped', async (t) => {
  const mails: string[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, _s, cb) { let data = ''; stream.on('data', (b: Buffer) => { data += b.toString(); }); stream.on('end', () => { mails.push(data); cb(); }); },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.server.address() as AddressInfo).port;
  const n = new EmailNotifier('mail', emailSchema.parse({ type: 'email', smtp: `smtp://127.0.0.1:${port}`, to: ['ops@example.com'],
    title_template: '{{host}} {{description}}', body_template: 'Mount {{attributes.mount}} <{{metric}}%> & "{{rule}}"' }));
  t.after(() => n.close());
  await n.send({ ...samplePayload, description: 'line one\r\nBcc: evil@example.org' }, AbortSignal.timeout(10_000));
  assert.match(mails[0]!, /Subject: db-1 line one Bcc: evil@example\.org/);
  assert.doesNotMatch(mails[0]!, /^Bcc:/m, 'a line break in a value cannot add a header');
  assert.match(mails[0]!, /Mount \/var <97%> & "disk-full"/);
});
