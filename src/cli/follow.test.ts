import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBlickError } from '../core/errors.js';
import { parseSse, SseDecoder, type SseFrame } from './follow.js';

/** Only a BlickError may leave a parser, whatever it is fed. */
function onlyBlickErrors(fn: () => unknown): void {
  try { fn(); } catch (err) { assert.ok(isBlickError(err), `threw ${String(err)}`); }
}

const EOL = fc.constantFrom('\n', '\r\n', '\r');
const value = fc.string({ unit: fc.constantFrom('a', 'é', '😀', ':', ' ', '{', '"', 'x') , maxLength: 20 });
/** one frame as a server may write it: fields in any order, comments, several data lines, any line ending */
const frame = fc.tuple(
  fc.array(fc.oneof(
    fc.tuple(fc.constantFrom('id', 'event', 'data', 'retry'), value).map(([k, v]) => `${k}: ${v}`),
    value.map((v) => `: ${v}`),
    value.map((v) => `data:${v}`),
    fc.constant('data'),
  ), { minLength: 1, maxLength: 5 }),
  EOL,
).map(([lines, eol]) => lines.map((l) => l + eol).join('') + eol);
const stream = fc.array(frame, { maxLength: 12 }).map((fs) => Buffer.from(fs.join('')));

function decodeAll(bytes: Uint8Array, cuts: number[]): SseFrame[] {
  const dec = new SseDecoder();
  const out: SseFrame[] = [];
  let from = 0;
  for (const c of [...cuts.filter((c) => c < bytes.length), bytes.length].sort((a, b) => a - b)) {
    out.push(...dec.push(bytes.subarray(from, c)));
    from = c;
  }
  return out;
}

test('the follow parser yields the same frames from a valid stream however its bytes are split (\\r\\n across chunks, a character across chunks)', () => {
  fc.assert(fc.property(stream, fc.array(fc.nat(2000), { maxLength: 30 }), (bytes, cuts) => {
    assert.deepEqual(decodeAll(bytes, cuts), decodeAll(bytes, []));
  }), { numRuns: 2000 });
  // the case that split one frame in two: \r | \n between chunks
  const bytes = Buffer.from('data: a\r\ndata: b\r\n\r\n');
  assert.deepEqual(decodeAll(bytes, [8]), [{ event: 'message', data: 'a\nb' }]);
});

test('the follow parser never throws anything but a BlickError on arbitrary text or bytes', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => { onlyBlickErrors(() => parseSse(s)); }), { numRuns: 2000 });
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
    const dec = new SseDecoder();
    onlyBlickErrors(() => { for (const c of chunks) dec.push(c); });
  }));
  // a frame that never ends is refused once it is over the bound, not held without end
  const dec = new SseDecoder();
  const chunk = Buffer.from('data: ' + 'x'.repeat(1024 * 1024));
  assert.throws(() => { for (let i = 0; i < 20; i++) dec.push(chunk); }, (err) => isBlickError(err, 'BAD_REQUEST'));
});
