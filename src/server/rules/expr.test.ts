import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileExpr, compileTree, ExprError, parse, tokenize } from './expr.js';

const ev = { host: 'web-01', service: 'disk /var', state: 'critical', metric: 96, description: 'full', tags: ['db', 'prod'], attributes: { mount: '/var', free: '4' } };

test('the examples of the rules documentation evaluate as a user expects', () => {
  const t = (src: string, scope: Record<string, unknown> = ev) => compileExpr(src).test(scope);
  assert.equal(t('metric > 90'), true);
  assert.equal(t('metric > 96'), false);
  assert.equal(t('state == "critical"'), true);
  assert.equal(t("state == 'warning'"), false);
  assert.equal(t('attributes.mount == "/var" && metric >= 95'), true);
  assert.equal(t('attributes["mount"] == "/"'), false);
  assert.equal(t('state in ["warning","critical"]'), true);
  assert.equal(t('state not in ["warning","critical"]'), false);
  assert.equal(t('"db" in tags and not ("lab" in tags)'), true);
  assert.equal(t('service =~ "^disk "'), true);
  assert.equal(t('host !~ "^web"'), false);
  assert.equal(t('attributes.free < 10'), true, 'numeric strings compare as numbers');
  assert.equal(t('metric * 2 - 2 == 190 || false'), true);
  assert.equal(t('-metric < 0'), true);
  assert.equal(t('!(metric > 90)'), false);
  assert.equal(t('metric > 90', { ...ev, metric: undefined }), false, 'a missing metric is null and null > 90 is false');
  assert.equal(t('attributes.nope == null'), true);
  assert.equal(t('rate > 10', { ...ev, rate: 12.5 }), true);
  assert.equal(t('1 + 2 * 3 == 7'), true, 'precedence');
  assert.equal(t('metric / 0 == null'), true, 'division by zero is null, not Infinity');
  assert.equal(t('attributes.constructor == null'), true, 'no prototype access');
});

test('parse errors name the column and the problem', () => {
  const cases: [string, RegExp][] = [
    ['metric >', /expected a value, found the end at column 9/],
    ['metric > > 3', /expected a value, found ">" at column 10/],
    ['state == "crit', /unterminated string at column 10/],
    ['metric # 3', /unexpected character "#" at column 8/],
    ['(metric > 1', /expected "\)"/],
    ['a.b.c == 1', /too deep/],
    ['service =~ "("', /invalid regular expression/],
    ['3abc', /bad number/],
    ['not in', /expected a value, found "not"/],
    ['- not in x', /expected a value/],
    ['(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))', /nested more than 64 deep/],
  ];
  for (const [src, re] of cases) {
    assert.throws(() => compileExpr(src), (err: unknown) => err instanceof ExprError && re.test(err.message), src);
  }
});

test('property: any input either parses or throws an ExprError (never anything else)', () => {
  const alphabet = fc.constantFrom(...'metric state attributes in not and or true null " \' ( ) [ ] , . == != <= >= < > =~ ! && || + - * / % 1 2.5 .5 1e3 x _ \\ \n'.split(' '), ' ', 'a', '"', '0');
  const arb = fc.oneof(fc.string({ maxLength: 60 }), fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')), fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(' ')));
  fc.assert(fc.property(arb, (src) => {
    try { tokenize(src); parse(src); compileExpr(src); } catch (err) {
      if (!(err instanceof ExprError)) throw new Error(`${JSON.stringify(src)} threw ${String(err)}`);
      assert.ok(err.position >= 0 && err.position <= src.length);
    }
  }), { numRuns: 5000 });
});

const value = fc.oneof(fc.constant(undefined), fc.constant(null), fc.double(), fc.integer(), fc.string({ maxLength: 5 }), fc.boolean(), fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }), fc.object({ maxDepth: 1 }));

test('property: evaluation never throws, whatever the expression and the event', () => {
  const exprs = fc.array(fc.constantFrom('metric', 'state', 'attributes.x', 'tags', 'rate', '"a"', '1', 'null', '[1,"a"]', 'true', 'host'), { minLength: 1, maxLength: 4 })
    .chain((operands) => fc.array(fc.constantFrom('==', '!=', '<', '>=', '+', '-', '*', '/', '%', 'in', 'not in', '&&', '||', '=~ "a+"'), { minLength: operands.length - 1, maxLength: operands.length - 1 })
      .map((ops) => operands.map((o, i) => (i === 0 ? o : `${ops[i - 1]!.startsWith('=~') ? ops[i - 1] + ' && ' : ops[i - 1] + ' '}${o}`)).join(' ')));
  fc.assert(fc.property(exprs, fc.record({ metric: value, state: value, attributes: value, tags: value, rate: value, host: value }), (src, scope) => {
    let e;
    try { e = compileExpr(src); } catch (err) { assert.ok(err instanceof ExprError); return; }
    compileTree(parse(src))(scope as never); // the raw closures, without compileExpr's try/catch
    assert.equal(typeof e.test(scope as never), 'boolean');
  }), { numRuns: 5000 });
});

test('property: with names given, an identifier outside them is refused wherever it stands, at its column; names inside them never are', () => {
  const known = ['metric', 'state', 'attributes'] as const;
  const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/).filter((s) => !['and', 'or', 'not', 'in', 'true', 'false', 'null'].includes(s));
  const shapes = [(n: string) => `${n} > 1`, (n: string) => `not ${n}`, (n: string) => `-${n} * 2 == 3`, (n: string) => `"a" in [1, ${n}]`, (n: string) => `${n} =~ "x"`, (n: string) => `(${n})`];
  fc.assert(fc.property(fc.array(fc.tuple(ident, fc.nat(shapes.length - 1)), { minLength: 1, maxLength: 4 }), (parts) => {
    const src = parts.map(([n, k]) => shapes[k]!(n)).join(' and ');
    const unknown = parts.find(([n]) => !(known as readonly string[]).includes(n));
    try { compileExpr(src, { names: known }); } catch (err) {
      assert.ok(err instanceof ExprError && unknown, `refused only with an unknown name: ${src}`);
      assert.match(err.message, new RegExp(`^unknown name "${unknown[0]}"`));
      assert.equal(src.slice(err.position, err.position + unknown[0].length), unknown[0], 'the column points at the name');
      return;
    }
    assert.equal(unknown, undefined, `accepted an unknown name: ${src}`);
    assert.doesNotThrow(() => compileExpr(src), 'without names any identifier compiles');
  }), { numRuns: 500 });
});
