import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTemplate, renderTemplate, TemplateError, type Escape } from './index.js';
import { templateProblem } from '../notifier.js';

const render = (src: string, data: unknown, how: Escape = 'none', max = 10_000) => renderTemplate(parseTemplate(src), data, how, max).text;

test('variables with dotted paths, sections over arrays and values, inverted sections; missing renders empty', () => {
  const data = { host: 'db-1', metric: 97, endsAt: null, tags: ['a', 'b'], event: { attributes: { mount: '/var' } }, empty: [] };
  assert.equal(render('{{host}} {{ event.attributes.mount }} {{metric}}', data), 'db-1 /var 97');
  assert.equal(render('{{#tags}}[{{.}}]{{/tags}}', data), '[a][b]');
  assert.equal(render('{{#metric}}m={{metric}}{{/metric}}{{#endsAt}}ended{{/endsAt}}{{^endsAt}} firing{{/endsAt}}', data), 'm=97 firing');
  assert.equal(render('x{{nope}}{{host.deeper}}{{#empty}}no{{/empty}}y', data), 'xy');
  assert.equal(render('{{tags}}', data), 'a, b');
  assert.equal(render('{{constructor}}{{__proto__}}{{host.length}}{{toString}}', data), '', 'no reach into prototypes');
});

test('syntax errors say what and where', () => {
  for (const [src, msg] of [['{{host', /without "}}"/], ['{{#tags}}x', /does not close the section/], ['{{/tags}}', /without an open section/],
    ['{{#a}}{{/b}}', /where "{{\/a}}" was expected/], ['{{ ho st }}', /bad variable name/], ['{{#a}}{{#b}}{{#c}}{{#d}}{{/d}}{{/c}}{{/b}}{{/a}}', /deeper than 3/]] as const) {
    assert.throws(() => parseTemplate(src), (e: unknown) => e instanceof TemplateError && msg.test(e.message), src);
  }
});

test('names are checked against the notification: unknown variables and fields are refused, attributes take any key', () => {
  assert.equal(templateProblem('{{rule}} {{host}} {{service}} {{attributes.mount}} {{event.attributes.x}} {{event.time}} {{#tags}}{{.}}{{/tags}}'), undefined);
  assert.match(templateProblem('{{hots}}')!, /unknown variable "hots"/);
  assert.match(templateProblem('{{event.nope}}')!, /unknown variable "event\.nope"/);
  assert.match(templateProblem('{{host.name}}')!, /unknown variable "host\.name"/);
  assert.match(templateProblem('{{.}}')!, /outside a section/);
});

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined),
    fc.array(tie('v'), { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 4 })),
})).v;
const names = fc.constantFrom('host', 'tags', 'a', 'a.b', 'event.attributes.x', '.', '__proto__', 'constructor');
const tag = names.chain((n) => fc.constantFrom(`{{${n}}}`, `{{#${n}}}`, `{{^${n}}}`, `{{/${n}}}`, `{{ ${n} }}`));
const template = fc.array(fc.oneof(tag, fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('{{', '}}', '{', '}')), { maxLength: 30 }).map((p) => p.join(''));

test('property: any template either fails to parse with a TemplateError or renders without throwing, within the bound', () => {
  fc.assert(fc.property(fc.oneof(template, fc.string({ unit: 'binary' })), fc.dictionary(fc.constantFrom('host', 'tags', 'a', 'event'), value), fc.constantFrom<Escape>('none', 'json', 'slack'), fc.integer({ min: 0, max: 200 }), (src, data, how, max) => {
    let nodes;
    try { nodes = parseTemplate(src); } catch (e) { assert.ok(e instanceof TemplateError, String(e)); return; }
    const r = renderTemplate(nodes, data, how, max);
    assert.equal(typeof r.text, 'string');
    assert.ok(r.text.length <= max, `${r.text.length} > ${max}`);
  }), { numRuns: 2000 });
});

test('property: json escaping keeps a JSON document valid and carries any string exactly; none writes it unchanged', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (host, description) => {
    const body = render('{"text":"{{host}}: {{description}}","n":1}', { host, description }, 'json', 1_000_000);
    assert.deepEqual(JSON.parse(body), { text: `${host}: ${description}`, n: 1 });
    assert.equal(render('{{host}}', { host }, 'none', 1_000_000), host);
    assert.doesNotMatch(render('{{host}}', { host }, 'slack', 1_000_000), /[<>]/);
  }), { numRuns: 1000 });
});

test('nested sections over long arrays stop at the bound instead of running long', () => {
  const big = Array.from({ length: 10_000 }, (_, i) => String(i));
  const r = renderTemplate(parseTemplate('{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}end'), { a: big }, 'none', 1000);
  assert.equal(r.truncated, true);
  const w = renderTemplate(parseTemplate('{{#a}}{{.}},{{/a}}'), { a: big }, 'none', 100);
  assert.equal(w.text.length, 100);
  assert.equal(w.truncated, true);
});
