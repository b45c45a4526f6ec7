import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { samplePayload } from '../testdata/payload.js';
import { ExecNotifier, execSchema } from './index.js';

test('exec passes the JSON on stdin and argv verbatim (no shell), fails on a non-zero exit and is killed on timeout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blick-exec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.json');
  const script = `let s='';process.stdin.on('data',b=>s+=b).on('end',()=>{require('fs').writeFileSync(process.argv[1],JSON.stringify({stdin:JSON.parse(s),argv:process.argv.slice(2),env:process.env.BLICK_RULE}))})`;
  const n = new ExecNotifier('page', execSchema.parse({ type: 'exec', command: [process.execPath, '-e', script, out, '$(touch pwned)', '; rm -rf /'] }));
  await n.send({ ...samplePayload, host: 'x; rm -rf / $(id)' }, AbortSignal.timeout(5000));
  const got = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(got.stdin.host, 'x; rm -rf / $(id)');
  assert.deepEqual(got.argv, ['$(touch pwned)', '; rm -rf /'], 'arguments reach the program untouched');
  assert.equal(got.env, 'disk-full');

  const fail = new ExecNotifier('page', execSchema.parse({ type: 'exec', command: [process.execPath, '-e', 'console.error("no pager");process.exit(3)'] }));
  await assert.rejects(fail.send(samplePayload, AbortSignal.timeout(5000)), /exited 3: no pager/);
  const slow = new ExecNotifier('page', execSchema.parse({ type: 'exec', command: [process.execPath, '-e', 'setTimeout(()=>{},60000)'] }));
  const t0 = Date.now();
  await assert.rejects(slow.send(samplePayload, AbortSignal.timeout(300)), /killed/);
  assert.ok(Date.now() - t0 < 3000);
  const missing = new ExecNotifier('page', execSchema.parse({ type: 'exec', command: ['/nonexistent/pager'] }));
  await assert.rejects(missing.send(samplePayload, AbortSignal.timeout(5000)), /cannot run \/nonexistent\/pager/);
});

test('a NUL in an alert field leaves that variable out instead of failing every retry; stdin still carries the value', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blick-exec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.json');
  const script = `let s='';process.stdin.on('data',b=>s+=b).on('end',()=>{require('fs').writeFileSync(process.argv[1],JSON.stringify({stdin:JSON.parse(s),host:process.env.BLICK_HOST??null,service:process.env.BLICK_SERVICE}))})`;
  const n = new ExecNotifier('page', execSchema.parse({ type: 'exec', command: [process.execPath, '-e', script, out] }));
  await n.send({ ...samplePayload, host: 'db-1\u0000evil' }, AbortSignal.timeout(5000));
  const got = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(got, { stdin: { ...samplePayload, host: 'db-1\u0000evil' }, host: null, service: samplePayload.service });
  assert.throws(() => execSchema.parse({ type: 'exec', command: ['/bin/true'], env: { KEY: 'a\u0000b' } }), /NUL/);
});

test('exec templates: the rendered title and body reach the program as BLICK_TITLE and BLICK_BODY', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blick-exec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.json');
  const script = `require('fs').writeFileSync(process.argv[1],JSON.stringify({title:process.env.BLICK_TITLE,body:process.env.BLICK_BODY}))`;
  const n = new ExecNotifier('page', execSchema.parse({ type: 'exec', command: [process.execPath, '-e', script, out], title_template: '{{rule}} {{host}}', body_template: '{{description}}' }));
  await n.send(samplePayload, AbortSignal.timeout(5000));
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { title: 'disk-full db-1', body: '/var is 97% full' });
});
