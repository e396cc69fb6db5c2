/** A dotted version of any number of numeric parts, e.g. `5.0.23654.0` or `1.2`. */
const DOTTED_VERSION = /^\d+(\.\d+)+$/;

/** True when the text looks like a dotted version. Example: looksLikeVersion('5.0.23654.0') -> true; looksLikeVersion('5') -> false. */
export function looksLikeVersion(text: string): boolean {
  return DOTTED_VERSION.test(text);
}

/**
 * Compares dotted versions part by part, numerically, missing parts counting as 0; parts that
 * are not numbers compare as text. Example: compareVersions('5.0.23654.0', '5.0.9999.12') -> 1.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const order = comparePart(left[i] ?? '0', right[i] ?? '0');
    if (order !== 0) return order;
  }
  return 0;
}

function comparePart(a: string, b: string): -1 | 0 | 1 {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    // Exact for any length: strip leading zeros, then the longer number is larger.
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length < y.length ? -1 : 1;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
