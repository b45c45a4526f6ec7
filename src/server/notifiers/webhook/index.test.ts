import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signature, WebhookNotifier, webhookSchema } from './index.js';
import { samplePayload } from '../testdata/payload.js';


test('the webhook POSTs the payload with a verifiable HMAC-SHA256 signature and extra headers; a 500 is a failure', async (t) => {
  const got: { raw: string; headers: Record<string, unknown> }[] = [];
  let status = 200;
  const srv = createServer((req, res) => { let raw = ''; req.on('data', (b) => { raw += b; }); req.on('end', () => { got.push({ raw, headers: req.headers }); res.writeHead(status).end(); }); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/h`;
  const n = new WebhookNotifier('ops', webhookSchema.parse({ type: 'webhook', url, secret: 's3cret', headers: { authorization: 'Bearer x' } }));
  await n.send(samplePayload, AbortSignal.timeout(5000));
  assert.deepEqual(JSON.parse(got[0]!.raw), samplePayload);
  assert.equal(got[0]!.headers['x-blick-signature'], signature('s3cret', got[0]!.raw));
  assert.match(String(got[0]!.headers['x-blick-signature']), /^sha256=[0-9a-f]{64}$/);
  assert.equal(got[0]!.headers.authorization, 'Bearer x');
  status = 500;
  await assert.rejects(n.send(samplePayload, AbortSignal.timeout(5000)), /answered 500/);
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const freePort = (free.address() as AddressInfo).port;
  await new Promise<void>((r) => free.close(() => r()));
  const closed = new WebhookNotifier('ops', webhookSchema.parse({ type: 'webhook', url: `http://127.0.0.1:${freePort}/h` }));
  await assert.rejects(closed.send(samplePayload, AbortSignal.timeout(5000)), /ECONNREFUSED/);
  assert.throws(() => webhookSchema.parse({ type: 'webhook', url: 'ftp://x' }));
});

test('webhook templates: title_template adds `title`; body_template replaces the body with values escaped as JSON, so any description keeps it valid', async (t) => {
  const got: string[] = [];
  const srv = createServer((req, res) => { let raw = ''; req.on('data', (b) => { raw += b; }); req.on('end', () => { got.push(raw); res.writeHead(200).end(); }); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/h`;
  const titled = new WebhookNotifier('ops', webhookSchema.parse({ type: 'webhook', url, title_template: '{{rule}} on {{host}}' }));
  await titled.send(samplePayload, AbortSignal.timeout(5000));
  assert.deepEqual(JSON.parse(got[0]!), { ...samplePayload, title: 'disk-full on db-1' });
  const chat = new WebhookNotifier('ops', webhookSchema.parse({ type: 'webhook', url, body_template: '{"text":"{{host}}: {{description}} {{#tags}}#{{.}} {{/tags}}","mount":"{{attributes.mount}}"}' }));
  const nasty = 'quote " backslash \\ newline \n tab \t "},"x":1,{"';
  await chat.send({ ...samplePayload, description: nasty, event: { ...samplePayload.event, tags: ['a"b'] } }, AbortSignal.timeout(5000));
  assert.deepEqual(JSON.parse(got[1]!), { text: `db-1: ${nasty} #a"b `, mount: '/var' });
});
