/**
 * A small reader for the shell lines of runbooks: words (quotes removed), pipes, redirections,
 * `&&`/`;` chains and a trailing `&`. Enough to recognise intent; the text of anything not
 * recognised is kept as written. Document placeholders like `<PID>` or `/<path/to/dir>/` are
 * part of a word, not a redirection.
 */

/** One word: as written and with quotes removed. Example: `'a b'` -> `{ text: "'a b'", value: 'a b' }`. */
export interface ShellWord {
  text: string;
  value: string;
}

/** A redirection. Example: `> /var/log/x.log` -> `{ op: '>', target: { text: '/var/log/x.log', value: ... } }`. */
export interface Redirect {
  op: string;
  target?: ShellWord;
}

/**
 * One simple command of a chain: its pipeline stages (each a list of words), redirections, and
 * whether it runs in the background. Example: `ps -ef | grep java` -> stages [[ps, -ef], [grep, java]].
 */
export interface SimpleCommand {
  /** The command as written (a part of the line). */
  text: string;
  stages: ShellWord[][];
  redirects: Redirect[];
  background: boolean;
}

type Token = { word: ShellWord; start: number; end: number } | { op: string; start: number; end: number };

/** Why a line could not be read. Example: `unclosed ' quote`. */
export class ShellSyntaxError extends Error {}

const OPERATORS = [
  '&&',
  '||',
  ';;',
  '2>&1',
  '1>&2',
  '>&2',
  '&>>',
  '&>',
  '2>>',
  '2>',
  '1>>',
  '1>',
  '>>',
  '>',
  '<<',
  '<',
  '|',
  ';',
  '&',
];

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break; // a comment to the end of the line (only at a word start)
    const op = OPERATORS.find((o) => line.startsWith(o, i));
    if (op && !(op === '<' && isPlaceholderAt(line, i))) {
      tokens.push({ op, start: i, end: i + op.length });
      i += op.length;
      continue;
    }
    const start = i;
    let value = '';
    while (i < line.length) {
      const ch = line[i] as string;
      if (ch === ' ' || ch === '\t') break;
      if (ch === '<' && isPlaceholderAt(line, i)) {
        const close = line.indexOf('>', i);
        value += line.slice(i, close + 1);
        i = close + 1;
        continue;
      }
      if ('|&;<>'.includes(ch)) break;
      if (ch === "'") {
        const close = line.indexOf("'", i + 1);
        if (close < 0) throw new ShellSyntaxError("unclosed ' quote");
        value += line.slice(i + 1, close);
        i = close + 1;
      } else if (ch === '"') {
        let j = i + 1;
        while (j < line.length && line[j] !== '"') {
          if (line[j] === '\\' && j + 1 < line.length) {
            value += line[j + 1];
            j += 2;
          } else {
            value += line[j];
            j++;
          }
        }
        if (j >= line.length) throw new ShellSyntaxError('unclosed " quote');
        i = j + 1;
      } else if (ch === '\\' && i + 1 < line.length) {
        value += line[i + 1];
        i += 2;
      } else if (ch === '$' && line[i + 1] === '(') {
        const close = matchingParen(line, i + 1);
        value += line.slice(i, close + 1);
        i = close + 1;
      } else if (ch === '`') {
        const close = line.indexOf('`', i + 1);
        if (close < 0) throw new ShellSyntaxError('unclosed ` quote');
        value += line.slice(i, close + 1);
        i = close + 1;
      } else {
        value += ch;
        i++;
      }
    }
    tokens.push({ word: { text: line.slice(start, i), value }, start, end: i });
  }
  return tokens;
}

/** `<name>` with no space or angle bracket inside: a document placeholder, not a redirection. */
function isPlaceholderAt(line: string, i: number): boolean {
  return /^<[^\s<>]+>/.test(line.slice(i));
}

function matchingParen(line: string, open: number): number {
  let depth = 0;
  for (let j = open; j < line.length; j++) {
    if (line[j] === '(') depth++;
    else if (line[j] === ')') {
      depth--;
      if (depth === 0) return j;
    }
  }
  throw new ShellSyntaxError('unclosed $( )');
}

/** Words that open or close a compound command (`until ...; do ...; done`, `if ...; then ...; fi`) where a command starts. */
const RESERVED = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'until',
  'while',
  'for',
  'do',
  'done',
  'case',
  'esac',
  '{',
  '}',
]);

/** True when a token list holds a compound command: a reserved word where a command starts. */
function compound(tokens: readonly Token[]): boolean {
  return tokens.some((t, i) => {
    if (!('word' in t) || t.word.text !== t.word.value || !RESERVED.has(t.word.value)) return false;
    const before = tokens[i - 1];
    return before === undefined || ('op' in before && ['&&', '||', ';', '|', '&'].includes(before.op));
  });
}

/**
 * Reads one command line into the simple commands of its `&&`/`;` chain. A line holding `||`
 * (run b only when a fails), a here-document or a compound command (`until ...; do ...; done`,
 * `if`, `for`, `while`, `case`) is returned as one unsplit command. Throws ShellSyntaxError on
 * unbalanced quotes. Example: `systemctl stop a && systemctl stop b` -> two commands.
 */
export function parseShellLine(line: string): SimpleCommand[] {
  const tokens = tokenize(line);
  const splittable =
    !compound(tokens) && !tokens.some((t) => 'op' in t && (t.op === '||' || t.op === '<<' || t.op === ';;'));
  const out: SimpleCommand[] = [];
  let current: Token[] = [];
  const flush = () => {
    if (current.length > 0) out.push(simple(line, current));
    current = [];
  };
  for (const token of tokens) {
    if (splittable && 'op' in token && (token.op === '&&' || token.op === ';')) flush();
    else current.push(token);
  }
  flush();
  return out;
}

function simple(line: string, tokens: Token[]): SimpleCommand {
  const first = tokens[0] as Token;
  const last = tokens[tokens.length - 1] as Token;
  const stages: ShellWord[][] = [[]];
  const redirects: Redirect[] = [];
  let background = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if ('word' in t) {
      (stages[stages.length - 1] as ShellWord[]).push(t.word);
      continue;
    }
    if (t.op === '|') stages.push([]);
    else if (t.op === '&') background = true;
    else if (t.op === '2>&1' || t.op === '1>&2' || t.op === '>&2') redirects.push({ op: t.op });
    else {
      const next = tokens[i + 1];
      if (next && 'word' in next) {
        redirects.push({ op: t.op, target: next.word });
        i++;
      } else redirects.push({ op: t.op });
    }
  }
  return {
    text: line.slice(first.start, last.end).trim(),
    stages: stages.filter((s) => s.length > 0),
    redirects,
    background,
  };
}

/**
 * The words without a leading `sudo` (plain, or with -E/-H/-n): cutover already runs as the inventory's user.
 * Example: `sudo systemctl stop x` -> [systemctl, stop, x].
 */
export function withoutSudo(words: readonly ShellWord[]): ShellWord[] {
  let i = 0;
  if (words[0]?.value === 'sudo') {
    i = 1;
    while (i < words.length && /^-[EHn]+$/.test(words[i]?.value ?? '')) i++;
  }
  return words.slice(i);
}
