import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { prettyLine, RateLimitedLog } from './log.js';

test('a JSON log line reads as time, level, component, message and fields on a terminal', () => {
  const out = prettyLine(JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), component: 'server', msg: 'message rejected', reason: 'too large', bytes: 5 }) + '\n');
  const plain = out.replace(/\x1b\[\d+m/g, '');
  assert.equal(plain, '03:04:05.006 WARN  server  message rejected reason="too large" bytes=5\n');
});

test('rate-limited log: one line per interval per key, with the number swallowed', () => {
  const lines: any[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => { lines.push(JSON.parse(l)); } });
  let now = 0;
  const r = new RateLimitedLog(log, 10_000, () => now);
  for (let i = 0; i < 100; i++) r.warn('bad', { i }, 'bad packet');
  r.warn('other', {}, 'other thing');
  now = 10_001;
  r.warn('bad', { i: 100 }, 'bad packet');
  assert.deepEqual(lines.map((l) => [l.msg, l.i, l.suppressed]), [['bad packet', 0, undefined], ['other thing', undefined, undefined], ['bad packet', 100, 99]]);
});

test('the pretty log prints escape sequences in messages and fields as visible escapes', () => {
  const out = prettyLine(JSON.stringify({ level: 40, time: 0, component: 'srv\x1b[2J', msg: 'bad line\x1b]0;pwned\x07', line: 'x\x1b[2Jy', reason: 'c1 \u009b2J bidi \u202e' }) + '\n');
  const ours = out.replace(/\x1b\[\d+m/g, ''); // the log's own colours
  assert.doesNotMatch(ours, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  assert.equal(ours, '00:00:00.000 WARN  srv\\x1b[2J message'.replace('message', 'bad line\\x1b]0;pwned\\x07') + ' line=x\\x1b[2Jy reason="c1 \\x9b2J bidi \\u202e"\n');
  assert.equal(prettyLine('not json \x1b[2J\n'), 'not json \\x1b[2J\n');
});
