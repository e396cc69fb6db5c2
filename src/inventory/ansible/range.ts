/**
 * Ansible host patterns as inventories write them: `web[01:03]`, `db-[a:c]`, `node[1:9:2]`,
 * `web1:2222` (a port), nested ranges. The count is checked before anything is expanded, so
 * `web[1:3000000]` is refused at once, never built.
 */

/** The most hosts one inventory may declare (ranges included); more is surely a typo. */
export const MAX_HOSTS = 10_000;

/** A pattern's hosts, or what is wrong with it and at which character (0-based) of the pattern. */
export type Expansion = { hosts: string[]; port?: number } | { error: string; index: number };

const RANGE = /\[([^\]]*)\]/g;

/**
 * Splits `name:port` (the `:` outside any `[...]`); IPv6 forms are not host names and are left as they are.
 * Example: splitPort('web[1:3]:2222') -> { pattern: 'web[1:3]', port: '2222', portIndex: 9 }.
 */
export function splitPort(text: string): { pattern: string; port?: string; portIndex?: number } {
  const colons: number[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ':' && depth === 0) colons.push(i);
  }
  // One `:` outside brackets: name:port. More (an IPv6 address): no port.
  if (colons.length !== 1) return { pattern: text };
  const at = colons[0] as number;
  return { pattern: text.slice(0, at), port: text.slice(at + 1), portIndex: at + 1 };
}

interface Range {
  start: number;
  length: number;
  items: string[];
}

/** One `[from:to(:step)]`, checked; the items are built only after the total count is known to be small. */
function parseRange(
  body: string,
  budget: number,
): { count: number; build: () => string[] } | { error: string; offset: number } {
  const parts = body.split(':');
  if (parts.length < 2 || parts.length > 3)
    return { error: `expected a range [from:to] or [from:to:step], found [${body}]`, offset: 0 };
  const [rawFrom, to, rawStep] = parts as [string, string, string | undefined];
  const from = rawFrom === '' ? '0' : rawFrom;
  const stepText = rawStep ?? '1';
  if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
    return {
      error: `the step of [${body}] must be a whole number of at least 1`,
      offset: from.length + to.length + 2,
    };
  const step = Number(stepText);
  if (to === '') return { error: `the range [${body}] has no end`, offset: rawFrom.length + 1 };
  if (/^\d+$/.test(from) && /^\d+$/.test(to)) {
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    if (width && to.length !== width)
      return {
        error: `[${body}]: a zero-padded range needs begin and end of the same width (e.g. [01:10])`,
        offset: 0,
      };
    const a = Number(from);
    const b = Number(to);
    if (a > b) return { error: `[${body}] is descending: write it as [${to}:${from}]`, offset: 0 };
    const count = Math.floor((b - a) / step) + 1;
    if (count > budget) return { error: tooMany(body, count), offset: 0 };
    return {
      count,
      build: () => {
        const out: string[] = [];
        for (let n = a; n <= b; n += step) out.push(String(n).padStart(width, '0'));
        return out;
      },
    };
  }
  if (/^[A-Za-z]$/.test(from) && /^[A-Za-z]$/.test(to)) {
    const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const a = letters.indexOf(from);
    const b = letters.indexOf(to);
    if (a > b) return { error: `[${body}] is descending: write it as [${to}:${from}]`, offset: 0 };
    return {
      count: Math.floor((b - a) / step) + 1,
      build: () => [...letters.slice(a, b + 1)].filter((_, i) => i % step === 0),
    };
  }
  return { error: `expected [from:to] of two numbers or two letters, found [${body}]`, offset: 0 };
}

function tooMany(body: string, count: number): string {
  return `[${body}] names ${count.toLocaleString('en')} hosts; an inventory may hold at most ${MAX_HOSTS.toLocaleString('en')} (MAX_HOSTS)`;
}

/**
 * Expands a host pattern (ranges multiply), refusing more than `budget` hosts before building
 * any. Example: expandHostPattern('node[1:5:2]') -> { hosts: ['node1', 'node3', 'node5'] }.
 */
export function expandPattern(pattern: string, budget = MAX_HOSTS): Expansion {
  const ranges: (Range & { build: () => string[] })[] = [];
  let total = 1;
  for (const m of pattern.matchAll(RANGE)) {
    const r = parseRange(m[1] as string, Math.floor(budget / total));
    if ('error' in r) return { error: r.error, index: (m.index ?? 0) + (r.offset ? 1 + r.offset : 0) };
    total *= r.count;
    if (total > budget)
      return {
        error: `${pattern} names ${total.toLocaleString('en')} hosts; an inventory may hold at most ${MAX_HOSTS.toLocaleString('en')}`,
        index: m.index ?? 0,
      };
    ranges.push({ start: m.index ?? 0, length: m[0].length, items: [], build: r.build });
  }
  const rest = pattern.replace(RANGE, '');
  if (/[[\]]/.test(rest))
    return { error: `unbalanced [ or ] in host pattern ${pattern}`, index: pattern.search(/[[\]]/) };
  let hosts = [''];
  let at = 0;
  for (const r of ranges) {
    const literal = pattern.slice(at, r.start);
    const items = r.build();
    hosts = hosts.flatMap((h) => items.map((i) => `${h}${literal}${i}`));
    at = r.start + r.length;
  }
  const tail = pattern.slice(at);
  return { hosts: hosts.map((h) => `${h}${tail}`) };
}

/**
 * Expands Ansible host ranges, throwing on a bad one. Example: expandHostPattern('web[01:03]') -> ['web01', 'web02', 'web03'].
 */
export function expandHostPattern(pattern: string): string[] {
  const r = expandPattern(pattern);
  if ('error' in r) throw new Error(r.error);
  return r.hosts;
}
