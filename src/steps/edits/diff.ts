/**
 * A compact unified diff of two small text files, for `cutover plan` and the journal: Myers'
 * O(ND) shortest edit script on lines, 3 lines of context, GNU diff hunk headers.
 */

const CONTEXT = 3;

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Lines with their terminators, so a missing final newline and CRLF changes are differences too. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Myers' greedy shortest edit script between two line arrays (common prefix/suffix trimmed first). */
function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) {
    suffix++;
  }
  const head: Op[] = a.slice(0, prefix).map((line) => ({ kind: ' ', line }));
  const tail: Op[] = a.slice(a.length - suffix).map((line) => ({ kind: ' ', line }));
  const x0 = a.slice(prefix, a.length - suffix);
  const y0 = b.slice(prefix, b.length - suffix);

  const n = x0.length;
  const m = y0.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  search: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && x0[x] === y0[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) break search;
    }
  }

  const middle: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      middle.push({ kind: ' ', line: x0[--x]! });
      y--;
    }
    if (d > 0) {
      if (x === prevX) middle.push({ kind: '+', line: y0[--y]! });
      else middle.push({ kind: '-', line: x0[--x]! });
    }
    x = prevX;
    y = prevY;
  }
  return [...head, ...middle.reverse(), ...tail];
}

function range(start: number, count: number): string {
  // GNU convention: an empty range names the line before it; a count of 1 is left out.
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

function show(op: Op): string[] {
  const text = op.kind + op.line.replace(/\r?\n$/, '');
  return op.line.endsWith('\n') ? [text] : [text, '\\ No newline at end of file'];
}

/**
 * A unified diff (`---`/`+++` headers naming `label`, hunks with 3 lines of context), or '' when
 * the texts are equal. Example: `unifiedDiff('a\nb\n', 'a\nc\n', 'web:/etc/app.yml')` is
 * `'--- web:/etc/app.yml (before)\n+++ web:/etc/app.yml (after)\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n'`.
 */
export function unifiedDiff(before: string, after: string, label: string): string {
  if (before === after) return '';
  const ops = diffLines(splitLines(before), splitLines(after));
  // Positions of every op in the old and new files.
  const aAt: number[] = [];
  const bAt: number[] = [];
  let ai = 0;
  let bi = 0;
  for (const op of ops) {
    aAt.push(ai);
    bAt.push(bi);
    if (op.kind !== '+') ai++;
    if (op.kind !== '-') bi++;
  }
  const changed = ops.flatMap((op, i) => (op.kind === ' ' ? [] : [i]));
  const out = [`--- ${label} (before)`, `+++ ${label} (after)`];
  let next = 0;
  while (next < changed.length) {
    const first = changed[next]!;
    let last = first;
    // Join changes whose context would touch or overlap.
    while (next + 1 < changed.length && changed[next + 1]! - last <= 2 * CONTEXT + 1) last = changed[++next]!;
    next++;
    const from = Math.max(0, first - CONTEXT);
    const to = Math.min(ops.length, last + CONTEXT + 1);
    const slice = ops.slice(from, to);
    const aCount = slice.filter((op) => op.kind !== '+').length;
    const bCount = slice.filter((op) => op.kind !== '-').length;
    out.push(`@@ -${range(aAt[from]!, aCount)} +${range(bAt[from]!, bCount)} @@`);
    for (const op of slice) out.push(...show(op));
  }
  return `${out.join('\n')}\n`;
}
