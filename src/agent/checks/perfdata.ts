/** One Nagios performance data item: `label=value[UOM];warn;crit;min;max`. */
export interface PerfData {
  label: string;
  value: number;
  uom: string;
  warn?: string;
  crit?: string;
  min?: number;
  max?: number;
}

/** A plugin's output split as Nagios does (plugin API, "Plugin Output"). */
export interface PluginOutput {
  /** the first line's text, before `|` */
  text: string;
  /** the following lines' text */
  longText: string;
  perf: PerfData[];
}

const MAX_OUTPUT = 64 * 1024;

/**
 * Parse plugin output: the first line is `TEXT | PERFDATA`, further lines are
 * long text, and a `|` in them starts more perfdata (which may span lines).
 * Never throws; malformed perfdata items are skipped.
 */
export function parsePluginOutput(raw: string): PluginOutput {
  const out = raw.length > MAX_OUTPUT ? raw.slice(0, MAX_OUTPUT) : raw;
  const lines = out.replace(/\r\n/g, '\n').split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const first = lines[0] ?? '';
  const bar = first.indexOf('|');
  const text = (bar >= 0 ? first.slice(0, bar) : first).trim();
  let perfText = bar >= 0 ? first.slice(bar + 1) : '';
  const long: string[] = [];
  let inPerf = false;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (inPerf) { perfText += ' ' + l; continue; }
    const b = l.indexOf('|');
    if (b >= 0) { long.push(l.slice(0, b)); perfText += ' ' + l.slice(b + 1); inPerf = true; } else long.push(l);
  }
  return { text, longText: long.join('\n').trim(), perf: parsePerfData(perfText) };
}

/** Parse a perfdata string into items; labels may be quoted ('disk usage'=…). */
export function parsePerfData(s: string): PerfData[] {
  const items: PerfData[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= n) break;
    let label = '';
    if (s[i] === "'") {
      i++;
      for (;;) {
        if (i >= n) return items; // torn quote: stop
        if (s[i] === "'") {
          if (s[i + 1] === "'") { label += "'"; i += 2; continue; }
          i++; break;
        }
        label += s[i++];
      }
    } else {
      const start = i;
      while (i < n && s[i] !== '=' && s[i] !== ' ') i++;
      label = s.slice(start, i);
    }
    if (s[i] !== '=') { while (i < n && s[i] !== ' ') i++; continue; }
    i++;
    const start = i;
    while (i < n && s[i] !== ' ' && s[i] !== '\t') i++;
    const fields = s.slice(start, i).split(';');
    const m = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(.*)$/.exec(fields[0] ?? '');
    if (!m || label === '') continue;
    const value = Number(m[1]);
    if (!Number.isFinite(value)) continue;
    const item: PerfData = { label, value, uom: m[2] ?? '' };
    if (fields[1]) item.warn = fields[1];
    if (fields[2]) item.crit = fields[2];
    const min = fields[3] ? Number(fields[3]) : NaN;
    const max = fields[4] ? Number(fields[4]) : NaN;
    if (Number.isFinite(min)) item.min = min;
    if (Number.isFinite(max)) item.max = max;
    items.push(item);
  }
  return items;
}
