/**
 * The `when:` expression language of alert rules: a small, safe language with
 * its own tokenizer and recursive-descent parser, compiled to closures. No
 * `eval`, no `new Function`, no property access outside the event.
 *
 * ```
 * metric > 90
 * state == "critical"
 * attributes.mount == "/var" && metric >= 95
 * state in ["warning", "critical"]
 * "db" in tags || service =~ "^disk "
 * rate > 100 and not (host == "lab-1")
 * ```
 * Values are numbers, strings, booleans, null and lists. A name that the event
 * lacks is null; comparing null with `<`/`>` is false; a string that looks like
 * a number compares numerically with a number (attributes are strings).
 * Evaluation never throws.
 */

/** A parse error with the position (0-based column) of the offending token. */
export class ExprError extends Error {
  constructor(message: string, readonly position: number, readonly source: string) {
    super(`${message} at column ${position + 1} of \`${source.length > 120 ? source.slice(0, 117) + '...' : source}\``);
    this.name = 'ExprError';
  }
}

export type Value = number | string | boolean | null | Value[];

/** What an expression can see: the event's fields plus rule-computed figures. */
export interface ExprScope {
  host?: string;
  service?: string;
  state?: string | null | undefined;
  metric?: number | null | undefined;
  description?: string;
  tags?: readonly string[];
  attributes?: Readonly<Record<string, string>>;
  /** computed by the rule: rate, derivative, previous_state, … */
  [extra: string]: unknown;
}

type TokKind = 'num' | 'str' | 'ident' | 'op' | 'eof';
interface Token { kind: TokKind; value: string; num?: number; pos: number }

const MAX_SOURCE = 4096;
const MAX_DEPTH = 64;
const OPS = ['&&', '||', '==', '!=', '<=', '>=', '=~', '!~', '<', '>', '!', '(', ')', '[', ']', ',', '.', '+', '-', '*', '/', '%'];
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null']);

/** Split an expression into tokens; throws ExprError on an unknown character or an unterminated string. */
export function tokenize(src: string): Token[] {
  if (src.length > MAX_SOURCE) throw new ExprError(`expression longer than ${MAX_SOURCE} characters`, 0, src);
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const start = i;
    if ((c >= '0' && c <= '9') || (c === '.' && src[i + 1] !== undefined && src[i + 1]! >= '0' && src[i + 1]! <= '9')) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i, i + 64));
      const text = m![0];
      i += text.length;
      if (i < src.length && /[A-Za-z_]/.test(src[i]!)) throw new ExprError(`bad number "${text}${src[i]}"`, start, src);
      out.push({ kind: 'num', value: text, num: Number(text), pos: start });
      continue;
    }
    if (c === '"' || c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExprError('unterminated string', start, src);
        const d = src[i]!;
        if (d === c) { i++; break; }
        if (d === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw new ExprError('unterminated string', start, src);
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
          continue;
        }
        s += d; i++;
      }
      out.push({ kind: 'str', value: s, pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      out.push({ kind: 'ident', value: src.slice(i, j), pos: start });
      i = j;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprError(`unexpected character "${c}"`, i, src);
    out.push({ kind: 'op', value: op, pos: start });
    i += op.length;
  }
  out.push({ kind: 'eof', value: '', pos: src.length });
  return out;
}

/** The syntax tree. */
export type Node =
  | { t: 'lit'; v: Value }
  | { t: 'name'; path: string[]; pos?: number }
  | { t: 'list'; items: Node[] }
  | { t: 'not'; x: Node }
  | { t: 'neg'; x: Node }
  | { t: 'and' | 'or'; a: Node; b: Node }
  | { t: 'cmp'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; a: Node; b: Node }
  | { t: 'match'; negate: boolean; a: Node; re: RegExp }
  | { t: 'in'; negate: boolean; a: Node; b: Node }
  | { t: 'arith'; op: '+' | '-' | '*' | '/' | '%'; a: Node; b: Node }
  /** an aggregate function over a group's members (`count(state == "critical")`); `slot` is the scope key its value is read from */
  | { t: 'call'; fn: string; arg: Node; pos: number; slot?: string };

/** Parse an expression into a tree; throws ExprError (and nothing else) on bad input. */
export function parse(src: string): Node {
  if (typeof src !== 'string') throw new ExprError('expression must be a string', 0, String(src));
  const toks = tokenize(src);
  let p = 0;
  let depth = 0;
  const peek = () => toks[p]!;
  const isOp = (v: string) => peek().kind === 'op' && peek().value === v;
  const isKw = (v: string) => peek().kind === 'ident' && peek().value === v;
  const fail = (msg: string, tok = peek()): never => { throw new ExprError(tok.kind === 'eof' ? `${msg}, found the end` : `${msg}, found "${tok.value}"`, tok.pos, src); };
  const expect = (v: string) => { if (!isOp(v)) fail(`expected "${v}"`); p++; };
  const enter = () => { if (++depth > MAX_DEPTH) fail(`nested more than ${MAX_DEPTH} deep`); };

  function or(): Node {
    enter();
    let a = and();
    while (isOp('||') || isKw('or')) { p++; a = { t: 'or', a, b: and() }; }
    depth--;
    return a;
  }
  function and(): Node {
    let a = not();
    while (isOp('&&') || isKw('and')) { p++; a = { t: 'and', a, b: not() }; }
    return a;
  }
  function not(): Node {
    if (isOp('!') || (isKw('not') && !(toks[p + 1]?.kind === 'ident' && toks[p + 1]!.value === 'in'))) {
      p++; enter();
      const x = not();
      depth--;
      return { t: 'not', x };
    }
    return cmp();
  }
  function cmp(): Node {
    const a = add();
    const tok = peek();
    if (tok.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(tok.value)) {
      p++;
      return { t: 'cmp', op: tok.value as '==', a, b: add() };
    }
    if (tok.kind === 'op' && (tok.value === '=~' || tok.value === '!~')) {
      p++;
      const r = peek();
      if (r.kind !== 'str') fail(`"${tok.value}" needs a regular expression in a string literal`);
      p++;
      let re: RegExp;
      try { re = new RegExp(r.value); } catch (err) { throw new ExprError(`invalid regular expression: ${(err as Error).message}`, r.pos, src); }
      return { t: 'match', negate: tok.value === '!~', a, re };
    }
    if (isKw('in')) { p++; return { t: 'in', negate: false, a, b: add() }; }
    if (isKw('not') && toks[p + 1]?.kind === 'ident' && toks[p + 1]!.value === 'in') { p += 2; return { t: 'in', negate: true, a, b: add() }; }
    return a;
  }
  function add(): Node {
    let a = mul();
    while (isOp('+') || isOp('-')) { const op = peek().value as '+'; p++; a = { t: 'arith', op, a, b: mul() }; }
    return a;
  }
  function mul(): Node {
    let a = unary();
    while (isOp('*') || isOp('/') || isOp('%')) { const op = peek().value as '*'; p++; a = { t: 'arith', op, a, b: unary() }; }
    return a;
  }
  function unary(): Node {
    if (isOp('-')) { p++; enter(); const x = unary(); depth--; return { t: 'neg', x }; }
    if (isOp('!') || (isKw('not') && !(toks[p + 1]?.kind === 'ident' && toks[p + 1]!.value === 'in'))) return not();
    return primary();
  }
  function primary(): Node {
    const tok = peek();
    if (tok.kind === 'num') { p++; return { t: 'lit', v: tok.num! }; }
    if (tok.kind === 'str') { p++; return { t: 'lit', v: tok.value }; }
    if (tok.kind === 'op' && tok.value === '(') { p++; const x = or(); expect(')'); return x; }
    if (tok.kind === 'op' && tok.value === '[') {
      p++; enter();
      const items: Node[] = [];
      if (!isOp(']')) {
        for (;;) { items.push(or()); if (isOp(',')) { p++; continue; } break; }
      }
      expect(']');
      depth--;
      return { t: 'list', items };
    }
    if (tok.kind === 'ident') {
      if (tok.value === 'true' || tok.value === 'false') { p++; return { t: 'lit', v: tok.value === 'true' }; }
      if (tok.value === 'null') { p++; return { t: 'lit', v: null }; }
      if (KEYWORDS.has(tok.value)) fail('expected a value');
      p++;
      if (isOp('(')) {
        p++; enter();
        const arg = or();
        expect(')');
        depth--;
        return { t: 'call', fn: tok.value, arg, pos: tok.pos };
      }
      const path = [tok.value];
      for (;;) {
        if (isOp('.')) {
          p++;
          const k = peek();
          if (k.kind !== 'ident') fail('expected a name after "."');
          path.push(k.value); p++;
        } else if (isOp('[') && toks[p + 1]?.kind === 'str') {
          path.push(toks[p + 1]!.value); p += 2; expect(']');
        } else break;
      }
      if (path.length > 2) fail(`"${path.join('.')}" goes too deep (only attributes.<key> has fields)`, tok);
      return { t: 'name', path, pos: tok.pos };
    }
    return fail('expected a value');
  }

  const tree = or();
  if (peek().kind !== 'eof') fail('expected an operator or the end');
  return tree;
}

type Fn = (s: ExprScope) => Value;

function lookup(s: ExprScope, path: string[]): Value {
  const v = (s as Record<string, unknown>)[path[0]!];
  if (path.length === 1) return toValue(v);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const key = path[1]!;
  return Object.prototype.hasOwnProperty.call(v, key) ? toValue((v as Record<string, unknown>)[key]) : null;
}

function toValue(v: unknown): Value {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toValue);
  return null;
}

/** A number from a number or a numeric string; undefined otherwise. */
export function num(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') { const n = Number(v); return Number.isNaN(n) ? undefined : n; }
  return undefined;
}

function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === 'number' || typeof b === 'number') { const x = num(a), y = num(b); return x !== undefined && y !== undefined && x === y; }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  return false;
}

/** Whether a value holds: not null, false, 0, "" or an empty list. */
export function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== null && v !== false && v !== 0 && v !== '';
}

/** Compile a tree without the safety net of {@link compileExpr} (the property tests check this one never throws). */
export function compileTree(n: Node): (s: ExprScope) => Value { return compile(n); }

function compile(n: Node): Fn {
  switch (n.t) {
    case 'lit': { const v = n.v; return () => v; }
    case 'call': { const k = n.slot; return k === undefined ? () => null : (s) => toValue((s as Record<string, unknown>)[k]); }
    case 'name': {
      const path = n.path;
      if (path.length === 1) { const k = path[0]!; return (s) => toValue((s as Record<string, unknown>)[k]); }
      return (s) => lookup(s, path);
    }
    case 'list': { const items = n.items.map(compile); return (s) => items.map((f) => f(s)); }
    case 'not': { const x = compile(n.x); return (s) => !truthy(x(s)); }
    case 'neg': { const x = compile(n.x); return (s) => { const v = num(x(s)); return v === undefined ? null : -v; }; }
    case 'and': { const a = compile(n.a), b = compile(n.b); return (s) => truthy(a(s)) && truthy(b(s)); }
    case 'or': { const a = compile(n.a), b = compile(n.b); return (s) => truthy(a(s)) || truthy(b(s)); }
    case 'match': {
      const a = compile(n.a), re = n.re, neg = n.negate;
      return (s) => { const v = a(s); if (typeof v !== 'string' && typeof v !== 'number') return false; re.lastIndex = 0; return re.test(String(v)) !== neg; };
    }
    case 'in': {
      const a = compile(n.a), b = compile(n.b), neg = n.negate;
      return (s) => {
        const x = a(s), list = b(s);
        let found = false;
        if (Array.isArray(list)) found = list.some((y) => equal(x, y));
        else if (typeof list === 'string' && typeof x === 'string') found = list.includes(x);
        return found !== neg;
      };
    }
    case 'cmp': {
      const a = compile(n.a), b = compile(n.b);
      switch (n.op) {
        case '==': return (s) => equal(a(s), b(s));
        case '!=': return (s) => !equal(a(s), b(s));
        default: {
          const op = n.op;
          return (s) => {
            const x = a(s), y = b(s);
            let c: number;
            const nx = num(x), ny = num(y);
            if (nx !== undefined && ny !== undefined) c = nx - ny;
            else if (typeof x === 'string' && typeof y === 'string') c = x < y ? -1 : x > y ? 1 : 0;
            else return false;
            if (Number.isNaN(c)) return false;
            return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
          };
        }
      }
    }
    case 'arith': {
      const a = compile(n.a), b = compile(n.b), op = n.op;
      return (s) => {
        const x = a(s), y = b(s);
        if (op === '+' && typeof x === 'string' && typeof y === 'string') return x + y;
        const nx = num(x), ny = num(y);
        if (nx === undefined || ny === undefined) return null;
        const r = op === '+' ? nx + ny : op === '-' ? nx - ny : op === '*' ? nx * ny : op === '/' ? nx / ny : nx % ny;
        return Number.isFinite(r) ? r : null;
      };
    }
  }
}

/** A compiled expression. */
export interface Expr {
  readonly source: string;
  /** the names the expression reads (`metric`, `attributes`, `rate`, …) */
  readonly names: ReadonlySet<string>;
  /** the value of the expression; never throws */
  value(scope: ExprScope): Value;
  /** whether the expression holds (truthy); never throws */
  test(scope: ExprScope): boolean;
}

function names(n: Node, out: Set<string>): Set<string> {
  switch (n.t) {
    case 'name': out.add(n.path[0]!); break;
    case 'list': for (const i of n.items) names(i, out); break;
    case 'not': case 'neg': names(n.x, out); break;
    case 'match': names(n.a, out); break;
    case 'call': names(n.arg, out); break;
    case 'lit': break;
    default: names(n.a, out); names(n.b, out);
  }
  return out;
}

/** The names a rule's `when` can read: the event's fields and what the rule computes. */
export const RULE_NAMES = ['host', 'service', 'state', 'metric', 'description', 'tags', 'attributes', 'source', 'previous_state', 'rate', 'derivative'] as const;

/** The closest known name by edit distance (at most 2 edits), for "did you mean". */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined, bestD = 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k);
    if (d < bestD) { best = k; bestD = d; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Refuse names outside `known` (a misspelt name would read null and the rule
 * would never fire) and fields of anything but `attributes`.
 */
function checkNames(n: Node, known: readonly string[], src: string, functions?: readonly string[], inCall = false): void {
  const sub = (x: Node) => checkNames(x, known, src, functions, inCall);
  switch (n.t) {
    case 'call': {
      if (!functions || !functions.includes(n.fn)) {
        const hint = functions && closest(n.fn, functions);
        throw new ExprError(functions
          ? `unknown function "${n.fn}" (${hint ? `did you mean "${hint}"? ` : ''}the functions are ${functions.join(', ')})`
          : `"${n.fn}(…)" is an aggregate function: use it in a rule's aggregate, not in when`, n.pos, src);
      }
      if (inCall) throw new ExprError(`"${n.fn}(…)" inside another aggregate function`, n.pos, src);
      checkNames(n.arg, known, src, functions, true);
      break;
    }
    case 'name': {
      const [head, field] = n.path;
      if (functions && !inCall) throw new ExprError(`"${n.path.join('.')}" outside an aggregate function (read members through ${functions.join(', ')})`, n.pos ?? 0, src);
      if (!known.includes(head!)) {
        const hint = closest(head!, known);
        throw new ExprError(`unknown name "${head}" (${hint ? `did you mean "${hint}"? ` : ''}the names are ${known.join(', ')}, attributes.<key>)`, n.pos ?? 0, src);
      }
      if (field !== undefined && head !== 'attributes') throw new ExprError(`"${head}" has no fields (only attributes.<key> has)`, n.pos ?? 0, src);
      break;
    }
    case 'list': for (const i of n.items) sub(i); break;
    case 'not': case 'neg': sub(n.x); break;
    case 'match': sub(n.a); break;
    case 'lit': break;
    default: sub(n.a); sub(n.b);
  }
}

/** What {@link compileExpr} checks beyond the syntax. */
export interface CompileOptions {
  /** refuse any other name (e.g. {@link RULE_NAMES}); unset: any name reads the scope */
  names?: readonly string[];
  /** aggregate functions the expression may call; set, names are read only inside them */
  functions?: readonly string[];
}

/**
 * Parse and compile an expression.
 * @throws ExprError naming the column of the problem
 * @example compileExpr('metric > 90').test({ metric: 93 }) // true
 */
export function compileExpr(src: string, options: CompileOptions = {}): Expr {
  return compileParsed(parse(src), src, options);
}

/** {@link compileExpr} of a tree already parsed (aggregates assign call slots first). */
export function compileParsed(tree: Node, src: string, options: CompileOptions = {}): Expr {
  if (options.names) checkNames(tree, options.names, src, options.functions);
  else if (options.functions) checkNames(tree, [...RULE_NAMES], src, options.functions);
  const fn = compile(tree);
  const safe = (s: ExprScope): Value => { try { return fn(s); } catch { return null; } };
  return { source: src, names: names(tree, new Set()), value: safe, test: (s) => truthy(safe(s)) };
}
