/**
 * Which lines of a code block are commands. The counting rule (the import accounts for each
 * such line, and the tests count them the same way):
 *
 * A command is a line of a fenced or indented code block, except
 * 1. blank lines and comment lines (first non-space character `#`);
 * 2. every line of a sample block: one whose info string names something other than a shell
 *    (`yml`, `json`, `text`, `log`, ...; no info string or sh/bash/shell/zsh/console counts as shell),
 *    or one that shows the content of a file the text before it says to edit (`key=value` lines
 *    after "Edit `/etc/shop/application.properties`:", see file-sample.ts);
 * 3. output samples: in a `console`/`shell-session` block every line without a `$ ` prompt; in
 *    any block a line starting with `...`/`…`, a timestamp (`2024-05-02`, `10:11:12`,
 *    `[2024-...`) or a log level (`INFO`, `[WARN]`, ...);
 * 4. continuation lines: a line ending in `\` is joined with the next one into one command
 *    (counted once, at its first line).
 * A leading `$ ` prompt is removed.
 */
import type { Block, SourceLine } from './markdown.js';

/** One command of the document: the line it starts on and its text (continuations joined). Example: `{ line: 59, text: 'systemctl stop a && systemctl stop b' }`. */
export interface CommandLine {
  line: number;
  text: string;
  /** The comment lines right above it in the same block (`## Deb`), for context. */
  notes: string[];
}

const SHELL_LANGS = new Set([
  '',
  'sh',
  'bash',
  'shell',
  'zsh',
  'ksh',
  'console',
  'shell-session',
  'shellsession',
]);
const SESSION_LANGS = new Set(['console', 'shell-session', 'shellsession']);

/** True for a code block that shows data or output rather than commands. Example: a ```yml block -> true. */
export function isSampleBlock(block: Extract<Block, { type: 'code' }>): boolean {
  return block.sample !== undefined || !SHELL_LANGS.has(block.lang.split(/\s/)[0] ?? '');
}

const OUTPUT_LINE =
  /^\s*(?:\.\.\.|…|\[?\d{4}-\d\d-\d\d|\[?\d\d:\d\d(?::\d\d)?\b|\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)\b)/;

/** True for a line that looks like program output or a log line. Example: `... INFO Skipping rebalancing ...` -> true. */
export function isOutputLine(text: string): boolean {
  return OUTPUT_LINE.test(text);
}

/**
 * The commands of a code block, per the counting rule above. Example: a block
 * `cd /home/x\nnohup sh startup.sh &` -> [{ line: 97, text: 'cd /home/x' }, { line: 98, text: 'nohup sh startup.sh &' }].
 */
export function commandLines(block: Extract<Block, { type: 'code' }>): CommandLine[] {
  if (isSampleBlock(block)) return [];
  const session = SESSION_LANGS.has(block.lang.split(/\s/)[0] ?? '');
  const out: CommandLine[] = [];
  let notes: string[] = [];
  let pending: { line: number; parts: string[] } | undefined;
  for (const { line, text } of block.lines as SourceLine[]) {
    if (pending) {
      const body = text.trim();
      if (body.endsWith('\\')) pending.parts.push(body.slice(0, -1).trim());
      else {
        pending.parts.push(body);
        out.push({ line: pending.line, text: pending.parts.filter(Boolean).join(' '), notes });
        notes = [];
        pending = undefined;
      }
      continue;
    }
    const trimmed = text.trim();
    if (trimmed === '') continue;
    const prompted = /^\$\s+/.test(trimmed);
    if (session && !prompted) continue;
    if (!prompted && trimmed.startsWith('#')) {
      notes.push(trimmed);
      continue;
    }
    const body = prompted ? trimmed.replace(/^\$\s+/, '') : trimmed;
    if (!prompted && isOutputLine(body)) continue;
    if (body.endsWith('\\') && !body.endsWith('\\\\')) {
      pending = { line, parts: [body.slice(0, -1).trim()] };
      continue;
    }
    out.push({ line, text: body, notes });
    notes = [];
  }
  if (pending) out.push({ line: pending.line, text: pending.parts.join(' '), notes });
  return out;
}
