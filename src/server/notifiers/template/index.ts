/**
 * Notification templates: a small mustache-like language with no code.
 *
 *   {{host}}  {{event.attributes.mount}}     a variable (dotted path)
 *   {{#tags}}[{{.}}] {{/tags}}               a section: once per array item ({{.}} is the item),
 *                                            once for any other non-empty value, never for an empty one
 *   {{^endsAt}}still firing{{/endsAt}}       an inverted section: only when the value is empty
 *
 * Names always resolve from the notification (sections do not change scope),
 * so every name is checked at config load. A missing value renders empty;
 * arrays render comma-separated, objects as JSON. Output is cut at a bound.
 */

/** How a value is written into the output: `json` escapes it as JSON string content, `slack` escapes & < >. */
export type Escape = 'none' | 'json' | 'slack';

type Node = { t: 'text'; s: string } | { t: 'var'; path: string[] | null } | { t: 'section'; path: string[]; inverted: boolean; body: Node[] };

/** A template error with the position it was found at (characters from the start). */
export class TemplateError extends Error {
  constructor(message: string, readonly at: number) { super(message); }
}

/** Bounds on a template: its length and how deep sections nest. */
export const MAX_TEMPLATE_LENGTH = 8192;
export const MAX_SECTION_DEPTH = 3;
/** Section iterations per render, so nested sections over long arrays cannot loop long without output. */
const MAX_STEPS = 10_000;

const NAME = /^(?:\.|[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)$/;

/** Parse a template; throws TemplateError on bad syntax (unclosed tag or section, bad name, too deep). */
export function parseTemplate(src: string): Node[] {
  if (src.length > MAX_TEMPLATE_LENGTH) throw new TemplateError(`is longer than ${MAX_TEMPLATE_LENGTH} characters`, MAX_TEMPLATE_LENGTH);
  const root: Node[] = [];
  const stack: { name: string; body: Node[]; at: number }[] = [];
  let out = root;
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) { out.push({ t: 'text', s: src.slice(i) }); break; }
    if (open > i) out.push({ t: 'text', s: src.slice(i, open) });
    const close = src.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError('has a "{{" without "}}"', open);
    const tag = src.slice(open + 2, close).trim();
    const sigil = tag[0] === '#' || tag[0] === '^' || tag[0] === '/' ? tag[0] : '';
    const name = tag.slice(sigil.length).trim();
    if (!NAME.test(name)) throw new TemplateError(`has a bad variable name "{{${tag}}}" (use letters, digits, _ - and dots)`, open);
    if (sigil === '#' || sigil === '^') {
      if (name === '.') throw new TemplateError('cannot open a section on "."', open);
      if (stack.length >= MAX_SECTION_DEPTH) throw new TemplateError(`nests sections deeper than ${MAX_SECTION_DEPTH}`, open);
      const node: Node = { t: 'section', path: name.split('.'), inverted: sigil === '^', body: [] };
      out.push(node);
      stack.push({ name, body: out, at: open });
      out = node.body;
    } else if (sigil === '/') {
      const top = stack.pop();
      if (!top || top.name !== name) throw new TemplateError(`closes "{{/${name}}}" ${top ? `where "{{/${top.name}}}" was expected` : 'without an open section'}`, open);
      out = top.body;
    } else {
      out.push({ t: 'var', path: name === '.' ? null : name.split('.') });
    }
    i = close + 2;
  }
  const unclosed = stack.pop();
  if (unclosed) throw new TemplateError(`does not close the section "{{#${unclosed.name}}}"`, unclosed.at);
  return root;
}

/** Every variable and section name a parsed template reads, with `.` for the current item. */
export function templateNames(nodes: Node[], out: string[] = []): string[] {
  for (const n of nodes) {
    if (n.t === 'var') out.push(n.path ? n.path.join('.') : '.');
    else if (n.t === 'section') { out.push(n.path.join('.')); templateNames(n.body, out); }
  }
  return out;
}

/** `.` used outside any section (it would always render empty): a mistake worth reporting. */
export function dotOutsideSection(nodes: Node[]): boolean {
  return nodes.some((n) => n.t === 'var' && n.path === null);
}

function lookup(root: unknown, path: string[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return v.map(text).join(', ');
  try { return JSON.stringify(v) ?? ''; } catch { return ''; }
}

const empty = (v: unknown) => v === null || v === undefined || v === false || v === '' || (Array.isArray(v) && v.length === 0);

function escape(s: string, how: Escape): string {
  if (how === 'json') return JSON.stringify(s).slice(1, -1);
  if (how === 'slack') return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return s;
}

/** The result of a render: the text (at most `max` characters) and whether it was cut. */
export interface Rendered { text: string; truncated: boolean }

/**
 * Render parsed nodes against `data`. Never throws; values are escaped per
 * `how`, template text is written as is; output stops at `max` characters.
 */
export function renderTemplate(nodes: Node[], data: unknown, how: Escape, max: number): Rendered {
  let out = '';
  let steps = 0;
  let full = false;
  const write = (s: string) => {
    if (full) return;
    if (out.length + s.length > max) { out += s.slice(0, Math.max(0, max - out.length)); full = true; return; }
    out += s;
  };
  const walk = (list: Node[], item: unknown) => {
    for (const n of list) {
      if (full) return;
      if (n.t === 'text') write(n.s);
      else if (n.t === 'var') write(escape(text(n.path ? lookup(data, n.path) : item), how));
      else {
        const v = lookup(data, n.path);
        if (n.inverted) { if (empty(v)) walk(n.body, item); continue; }
        if (empty(v)) continue;
        for (const each of Array.isArray(v) ? v : [v]) {
          if (full || ++steps > MAX_STEPS) { full = true; return; }
          walk(n.body, each);
        }
      }
    }
  };
  walk(nodes, undefined);
  return { text: out, truncated: full };
}
