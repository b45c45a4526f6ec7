/** Characters a Graphite path component keeps; every run of others becomes one `_`. */
const UNSAFE = /[^A-Za-z0-9_-]+/g;

/**
 * A host or service as one Graphite path component: each run of characters
 * outside `A-Z a-z 0-9 _ -` (dots, spaces, slashes, `;` which carbon reads as
 * a tag, non-ASCII) becomes a single `_`; an empty name becomes `_`.
 * @example graphiteComponent('web-01.example.com') // 'web-01_example_com'
 * @example graphiteComponent('disk /var') // 'disk_var'
 */
export function graphiteComponent(name: string): string {
  const s = name.replace(UNSAFE, '_');
  return s === '' ? '_' : s;
}

/** The placeholders a `server.graphite.template` may use. */
export const TEMPLATE_FIELDS = ['prefix', 'host', 'service'] as const;

/** Why a template is refused, or undefined when it is good. */
export function templateProblem(template: string): string | undefined {
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(m[1]!)) return `unknown placeholder {${m[1]}} (known: {prefix}, {host}, {service})`;
  }
  if (!template.includes('{host}') || !template.includes('{service}')) return 'must contain {host} and {service}, or every check lands on one path';
  if (/[\s;]/.test(template)) return 'must not contain spaces or ";" (carbon reads them as separators)';
  return undefined;
}

/**
 * Builds `blick.<host>.<service>` style paths from a template such as
 * `{prefix}.{host}.{service}`. The prefix may hold dots (`ops.blick`); empty
 * path components (an empty prefix) are left out.
 */
export class GraphiteNamer {
  private readonly parts: string[];

  constructor(template: string, private readonly prefix: string) {
    this.parts = template.split(/(\{(?:prefix|host|service)\})/);
  }

  path(host: string, service: string): string {
    let out = '';
    for (const p of this.parts) {
      out += p === '{prefix}' ? this.prefix : p === '{host}' ? graphiteComponent(host) : p === '{service}' ? graphiteComponent(service) : p;
    }
    return out.split('.').filter((c) => c !== '').join('.');
  }
}
