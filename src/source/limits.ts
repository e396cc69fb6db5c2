/**
 * The documented limits on input, so that no runbook, inventory or document can make cutover
 * crash, hang or use more than a few hundred MB. Each is refused as an input error (exit 2) at a
 * file:line:col. `cutover docs` lists them (src/docs/reference.ts reads LIMITS).
 */
export const LIMITS = {
  /** Bytes of one input file (runbook, inventory, Markdown document). Real runbooks are a few KB. */
  fileBytes: 4 * 1024 * 1024,
  /** YAML aliases (`*name`) resolved in one document: an alias bomb is refused, not expanded. */
  aliases: 100,
  /** Nesting of YAML collections (maps and lists inside each other). */
  depth: 64,
  /** Phases of a runbook, and steps in all its phases and preflight together. */
  phases: 100,
  steps: 2000,
  /** Characters of a param value given with -p or a default, and of a value a user pattern is matched against. */
  paramChars: 4096,
  /** Lines of code (in fenced blocks) in one document `cutover import` reads: a draft must stay under `steps`. */
  importCodeLines: 800,
} as const;

/** One line per limit, for `cutover docs`. */
export const LIMITS_DOC = [
  `input files (runbook, inventory, Markdown): at most ${LIMITS.fileBytes / 1024 / 1024} MiB, valid UTF-8, no control characters other than tab and newline`,
  `YAML: at most ${LIMITS.aliases} aliases (*name) per document, collections nested at most ${LIMITS.depth} deep`,
  `runbook: at most ${LIMITS.phases} phases and ${LIMITS.steps} steps (preflight included)`,
  `cutover import: at most ${LIMITS.importCodeLines} lines of code in fenced blocks per document (split a longer one)`,
  `values (-p params, defaults, vars, YAML strings): no control characters (NUL, ESC, …); a -p value at most ${LIMITS.paramChars} characters and on one line`,
  'durations: with a unit (90s, not 90), at most 24d20h31m23s (2^31-1 ms, the longest Node timer); timeouts above 0',
  "patterns (param pattern:, wait.log, wait.http): JavaScript syntax run by V8's linear-time engine: no backreferences or lookaround; matching never backtracks",
] as const;

/** Control characters that may not appear in a value: all C0 but tab and newline, DEL, and C1 (which terminals obey). */
export const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** The character as people read it: `U+001B (ESC)`. */
export function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  const names: Record<number, string> = {
    0: 'NUL',
    10: 'newline',
    13: 'carriage return',
    27: 'ESC',
    127: 'DEL',
  };
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}${names[code] ? ` (${names[code]})` : ''}`;
}
