import { readFileSync, statSync } from 'node:fs';
import { BlickError } from '../core/errors.js';

/** Nesting of objects and arrays allowed in an Etsy config file (a real one nests 3 deep). */
export const MAX_ETSY_DEPTH = 64;
/** Size of an Etsy config file read at most (exampleConfig.js is 7 KiB). */
export const MAX_ETSY_FILE_BYTES = 1024 * 1024;

/** A parsed Etsy config file: the value, and the line of each key (by path) for messages. */
export interface EtsyFile {
  value: unknown;
  /** line (1-based) of the key at `path`, or of its nearest parent that has one */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

const ID_START = /[\p{ID_Start}$_]/u;
const ID_PART = /[\p{ID_Continue}$_\u200c\u200d]/u;
const LINE_END = /[\n\r\u2028\u2029]/;
const DIGITS: Record<string, RegExp> = { x: /[0-9a-fA-F]/, o: /[0-7]/, b: /[01]/ };

/**
 * Read the text of an Etsy statsd config file as data. Etsy `eval`s the file;
 * Blick never runs it, and reads the part of JavaScript such files are
 * written in: one object literal (arrays, nested objects, single- or
 * double-quoted strings, numbers incl. hex and Etsy-era octal `0660`, true,
 * false, null, undefined, NaN, Infinity, `//` and `/* *\/` comments, trailing
 * commas, a final `;`). Anything else (a call such as
 * `require('os').hostname()`, a variable, an operator) is refused with its
 * line and column, and the advice to write the value itself.
 */
export function parseEtsyConfig(text: string, file: string): EtsyFile {
  if (text.length > MAX_ETSY_FILE_BYTES) {
    throw new BlickError('CONFIG_INVALID', `${file}: an Etsy statsd configuration of ${text.length} characters is larger than Blick reads (${MAX_ETSY_FILE_BYTES})`);
  }
  const lines = new Map<string, number>();
  let i = 0;
  let depth = 0;

  // keys come in file order, so the line count resumes from the last one asked for
  let seen = 0, seenLine = 1, seenStart = 0;
  const position = (at: number): { line: number; col: number } => {
    if (at < seen) { seen = 0; seenLine = 1; seenStart = 0; }
    for (; seen < at; seen++) {
      const c = text[seen]!;
      if (c === '\n' || c === '\u2028' || c === '\u2029' || (c === '\r' && text[seen + 1] !== '\n')) { seenLine++; seenStart = seen + 1; }
    }
    return { line: seenLine, col: at - seenStart + 1 };
  };
  const fail = (message: string, at = i): never => {
    const { line, col } = position(at);
    throw new BlickError('CONFIG_INVALID', `${file}:${line}:${col}: ${message}`);
  };
  const notData = (at: number): never => {
    let end = at;
    while (end < text.length && end - at < 40 && !LINE_END.test(text[end]!)) end++;
    const what = text.slice(at, end).trim() || 'the end of the file';
    return fail(`Blick reads an Etsy statsd configuration as data and does not run it; "${what}" is not a value (write the value itself, e.g. "web-01" instead of require('os').hostname())`, at);
  };

  const skip = (): void => {
    for (;;) {
      const c = text[i];
      if (c === undefined) return;
      if (c === '/' && text[i + 1] === '/') {
        while (i < text.length && !LINE_END.test(text[i]!)) i++;
      } else if (c === '/' && text[i + 1] === '*') {
        const end = text.indexOf('*/', i + 2);
        if (end === -1) fail('a /* comment is not closed');
        i = end + 2;
      } else if (/\s/.test(c) || c === '\ufeff') {
        i++;
      } else return;
    }
  };

  const identifier = (): string => {
    const start = i;
    if (text[i] === undefined || !ID_START.test(text[i]!)) return '';
    i++;
    while (i < text.length && ID_PART.test(text[i]!)) i++;
    return text.slice(start, i);
  };

  const hex = (n: number): number => {
    const s = text.slice(i, i + n);
    if (s.length !== n || !/^[0-9a-fA-F]+$/.test(s)) fail('a \\x or \\u escape needs hexadecimal digits');
    i += n;
    return parseInt(s, 16);
  };

  const string = (): string => {
    const quote = text[i++]!;
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined || c === '\n' || c === '\r') fail('a string is not closed on its line');
      i++;
      if (c === quote) return out;
      if (c !== '\\') { out += c; continue; }
      const e = text[i++];
      switch (e) {
        case undefined: fail('a string is not closed'); break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'x': out += String.fromCharCode(hex(2)); break;
        case 'u': {
          if (text[i] === '{') {
            const end = text.indexOf('}', i);
            const digits = end === -1 ? '' : text.slice(i + 1, end);
            const cp = /^[0-9a-fA-F]{1,6}$/.test(digits) ? parseInt(digits, 16) : NaN;
            if (!(cp <= 0x10ffff)) fail('a \\u{…} escape needs a code point of at most 10FFFF');
            out += String.fromCodePoint(cp);
            i = end + 1;
          } else out += String.fromCharCode(hex(4));
          break;
        }
        case '\r': if (text[i] === '\n') i++; break; // a line continuation
        case '\n': case '\u2028': case '\u2029': break;
        default:
          if (e >= '0' && e <= '9') {
            if (e === '0' && !/[0-9]/.test(text[i] ?? '')) { out += '\0'; break; }
            fail('octal escapes (\\1) are not read; write \\x01 or the character', i - 2);
          }
          out += e; // \' \" \\ and identity escapes
      }
    }
  };

  const number = (): number => {
    const start = i;
    let value: number;
    const radix = text[i] === '0' ? text[i + 1]?.toLowerCase() : undefined;
    if (radix === 'x' || radix === 'o' || radix === 'b') {
      i += 2;
      const d0 = i;
      while (i < text.length && (DIGITS[radix]!.test(text[i]!) || (text[i] === '_' && i > d0 && DIGITS[radix]!.test(text[i + 1] ?? '')))) i++;
      if (i === d0) fail(`0${radix} needs digits`);
      value = parseInt(text.slice(d0, i).replace(/_/g, ''), radix === 'x' ? 16 : radix === 'o' ? 8 : 2);
    } else if (text[i] === '0' && /[0-9]/.test(text[i + 1] ?? '')) {
      // Etsy evaluates the file in sloppy mode: 0660 is octal, 089 decimal
      while (i < text.length && /[0-9]/.test(text[i]!)) i++;
      const digits = text.slice(start, i);
      value = /^[0-7]+$/.test(digits) ? parseInt(digits, 8) : parseInt(digits, 10);
      if (!/^[0-7]+$/.test(digits) && text[i] === '.') {
        i++;
        while (i < text.length && /[0-9]/.test(text[i]!)) i++;
        value = Number(text.slice(start, i));
      }
    } else {
      const m = /^(?:(?:\d(?:_?\d)*)(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?/.exec(text.slice(i, i + 400));
      if (!m) return notData(i);
      i += m[0].length;
      value = Number(m[0].replace(/_/g, ''));
    }
    if (text[i] === 'n') fail('BigInt literals are not read; write a number');
    if (text[i] !== undefined && (ID_START.test(text[i]!) || /[0-9]/.test(text[i]!))) fail('a number runs into an identifier');
    return value;
  };

  const value = (path: (string | number)[]): unknown => {
    skip();
    const c = text[i];
    if (c === '{') return object(path);
    if (c === '[') return array(path);
    if (c === '"' || c === "'") return string();
    if (c === '-' || c === '+') {
      const at = i;
      i++;
      skip();
      const v = text[i] === 'I' ? word(at) : /[0-9.]/.test(text[i] ?? '') ? number() : notData(at);
      if (typeof v !== 'number') return notData(at);
      return c === '-' ? -v : v;
    }
    if (c !== undefined && /[0-9.]/.test(c)) return number();
    return word(i);
  };

  const word = (at: number): unknown => {
    const w = identifier();
    switch (w) {
      case 'true': return true;
      case 'false': return false;
      case 'null': return null;
      case 'undefined': return undefined;
      case 'NaN': return NaN;
      case 'Infinity': return Infinity;
      default: i = at; return notData(at);
    }
  };

  const nest = (open: number): void => {
    if (++depth > MAX_ETSY_DEPTH) fail(`objects and arrays nest deeper than ${MAX_ETSY_DEPTH} levels`, open);
  };

  const object = (path: (string | number)[]): Record<string, unknown> => {
    nest(i);
    i++;
    const out: Record<string, unknown> = {};
    for (;;) {
      skip();
      if (text[i] === '}') { i++; depth--; return out; }
      const keyAt = i;
      const c = text[i];
      let key: string;
      if (c === '"' || c === "'") key = string();
      else if (c !== undefined && /[0-9.]/.test(c)) key = String(number());
      else {
        key = identifier();
        if (!key) notData(keyAt);
      }
      skip();
      if (text[i] !== ':') notData(keyAt);
      i++;
      // `__proto__: …` would set the object's prototype in JavaScript, not a key
      if (key === '__proto__') fail('"__proto__" is not a configuration key', keyAt);
      const at = [...path, key];
      lines.set(JSON.stringify(at), position(keyAt).line);
      Object.defineProperty(out, key, { value: value(at), enumerable: true, writable: true, configurable: true });
      skip();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '}') continue;
      notData(i);
    }
  };

  const array = (path: (string | number)[]): unknown[] => {
    nest(i);
    i++;
    const out: unknown[] = [];
    for (;;) {
      skip();
      if (text[i] === ']') { i++; depth--; return out; }
      if (text[i] === ',') fail('an empty array element (two commas in a row) is not read');
      const at = [...path, out.length];
      lines.set(JSON.stringify(at), position(i).line);
      out.push(value(at));
      skip();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === ']') continue;
      notData(i);
    }
  };

  skip();
  let parens = 0;
  while (text[i] === '(') { i++; parens++; skip(); }
  if (i >= text.length) fail('the file holds no configuration object (Etsy statsd expects one, e.g. { port: 8125 })');
  const result = value([]);
  for (; parens > 0; parens--) { skip(); if (text[i] !== ')') notData(i); i++; }
  skip();
  if (text[i] === ';') { i++; skip(); }
  if (i < text.length) notData(i);
  return {
    value: result,
    lineOf: (path) => {
      for (let n = path.length; n > 0; n--) {
        const l = lines.get(JSON.stringify(path.slice(0, n)));
        if (l !== undefined) return l;
      }
      return 1;
    },
  };
}

/** Read and parse an Etsy config file ({@link parseEtsyConfig}); its value is one object. */
export function readEtsyFile(file: string): EtsyFile {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_ETSY_FILE_BYTES) throw new Error(`${size} bytes is larger than Blick reads for an Etsy statsd configuration (${MAX_ETSY_FILE_BYTES})`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BlickError('CONFIG_UNREADABLE', `${file}: cannot read the statsd configuration: ${(err as Error).message}`, { cause: err });
  }
  const parsed = parseEtsyConfig(text, file);
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    throw new BlickError('CONFIG_INVALID', `${file}:1: an Etsy statsd configuration is one object ({ port: 8125, … })`);
  }
  return parsed;
}

/**
 * Whether `file` is an Etsy config file rather than Blick's YAML: by name
 * (`.js`), else (no `.yaml`/`.yml` name) by content, the first thing
 * after blanks being `{`, `(` or a JavaScript comment (YAML comments are `#`).
 */
export function isEtsyConfigFile(file: string, text?: string): boolean {
  if (/\.(c?js)$/i.test(file)) return true;
  if (/\.ya?ml$/i.test(file)) return false;
  let head = text;
  if (head === undefined) {
    try { head = readFileSync(file, 'utf8').slice(0, 4096); } catch { return false; }
  }
  return /^[\s\ufeff]*(\{|\(|\/\/|\/\*)/.test(head);
}
