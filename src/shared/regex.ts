/**
 * User regexes (param `pattern:`, wait.log patterns, wait.http body patterns) never backtrack
 * without bound. Decision (issue 13): V8's own linear-time engine, not a native RE2 build or a
 * static guess at "catastrophic" shapes. It ships inside Node 20 and 22 (no node-gyp, no wasm, no
 * new dependency), runs in time linear in pattern × input, and refuses at compile time exactly
 * what it cannot run linearly (backreferences, lookaround), so `validate` can say so at the
 * pattern's line. Two V8 flags are set once, before any such regex is compiled:
 * `--enable-experimental-regexp-engine` (the `l` flag, used here to check and compile user
 * patterns) and `--enable-experimental-regexp-engine-on-excessive-backtracks` (any regex that
 * backtracks past V8's budget falls back to the linear engine, so even a plain `new RegExp` of a
 * checked pattern elsewhere cannot hang). Where the `l` flag is unavailable, patterns with nested
 * quantifiers are refused statically instead.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

const LINEAR = (() => {
  try {
    // biome-ignore lint/complexity/useRegexLiterals: a literal with the l flag does not parse in esbuild or tsc
    return new RegExp('a', 'l').flags.includes('l');
  } catch {
    return false;
  }
})();

/** Nested quantifiers such as (a+)+ or (a*)*: the classic catastrophic shape, refused where no linear engine runs. */
const NESTED = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;

/**
 * Compiles a user pattern for linear-time matching, or throws an Error saying why it cannot be.
 * Example: linearRegExp('Skipping rebalancing') -> /Skipping rebalancing/l; linearRegExp('(a)\\1') throws.
 */
export function linearRegExp(source: string, flags = ''): RegExp {
  const re = new RegExp(source, flags); // a syntax error, in the usual words
  if (LINEAR) {
    try {
      return new RegExp(source, `${flags}l`);
    } catch {
      throw new Error(
        'cutover matches patterns in linear time and cannot run this one (backreferences such as \\1 and lookaround such as (?=…) or (?<!…) are not supported); rewrite it without them',
      );
    }
  }
  if (NESTED.test(source))
    throw new Error(
      'a quantifier on a group that holds a quantifier, like (a+)+, can take exponential time; rewrite it',
    );
  return re;
}
