import { type QuoteContext, quote, type RenderMode } from './quote.js';
import { type Placed, ShellScanner } from './scanner.js';
import { Secret } from './secret.js';
import { Expanded, isHostDate, partsOf, TemplatedWord, type Word } from './word.js';

/** A trusted fragment of shell syntax written by cutover itself (operators, keywords). */
class Raw {
  constructor(readonly text: string) {}
}

/** Shell text an author wrote (a runbook `command:`): trusted, but never re-indented (its newlines may be inside quotes or a here-document). */
class AuthorText extends Raw {}

type Piece = Raw | { word: Word; within?: QuoteContext };

/**
 * A shell command as a value: trusted syntax plus interpolated words, each quoted by `quote`
 * when rendered. Build with the `sh` tag: sh`cp -a ${src} ${dst}`. Interpolating a Command
 * splices it unquoted; interpolating an array quotes each element as its own word.
 * `stdin` is fed to the command (used to pass secrets without putting them in argv).
 */
export class Command {
  constructor(
    readonly pieces: readonly Piece[],
    readonly stdin?: Word,
  ) {}

  render(mode: RenderMode = 'exec'): string {
    return this.pieces.map((p) => (p instanceof Raw ? p.text : quote(p.word, mode, p.within))).join('');
  }

  /** Display form, secrets redacted; what `plan`, journal and errors show. */
  toString(): string {
    const text = this.render('display');
    return this.stdin === undefined ? text : `${text} <<< ${quote(this.stdin, 'display')}`;
  }

  toJSON(): string {
    return this.toString();
  }

  withStdin(stdin: Word): Command {
    return new Command(this.pieces, stdin);
  }

  /** The stdin text as the transport must send it (secrets revealed). */
  stdinText(): string | undefined {
    if (this.stdin === undefined) return undefined;
    return partsOf(this.stdin)
      .map((p) => (p instanceof Secret ? p.reveal() : String(new TemplatedWord([p]))))
      .join('');
  }

  /** Secrets referenced anywhere in the command, so callers can register them for redaction. */
  secrets(): Secret[] {
    const out: Secret[] = [];
    const visit = (w: Word) => {
      for (const p of partsOf(w)) if (p instanceof Secret) out.push(p);
    };
    for (const p of this.pieces) if (!(p instanceof Raw)) visit(p.word);
    if (this.stdin !== undefined) visit(this.stdin);
    return out;
  }
}

export type Interpolation = Word | Command | readonly Word[];

/** Tagged template: literal text is trusted shell, every `${value}` is quoted as one word. */
export function sh(strings: TemplateStringsArray, ...values: Interpolation[]): Command {
  const pieces: Piece[] = [];
  strings.forEach((text, i) => {
    if (text) pieces.push(new Raw(text));
    if (i < values.length) pushValue(pieces, values[i] as Interpolation);
  });
  return new Command(pieces);
}

function pushValue(pieces: Piece[], v: Interpolation): void {
  if (v instanceof Command) {
    if (v.stdin !== undefined) throw new Error('cannot splice a command that has stdin');
    pieces.push(...v.pieces);
  } else if (Array.isArray(v)) {
    (v as readonly Word[]).forEach((w, i) => {
      if (i > 0) pieces.push(new Raw(' '));
      pieces.push({ word: w });
    });
  } else {
    pieces.push({ word: v as Word });
  }
}

/** `a && b && c`. */
export function and(...cmds: Command[]): Command {
  return join(cmds, ' && ');
}

/** `a &&⏎ b &&⏎ c`: as `and`, one command per line (the lines after the first indented). */
export function all(...cmds: Command[]): Command {
  return cmds.reduce((acc, c, i) => (i === 0 ? c : sh`${acc} &&\n${indent(c)}`), raw(''));
}

/** `(⏎ cmd⏎ )`: runs in a subshell (its `exit` and variables stay inside), the body indented. */
export function subshell(cmd: Command): Command {
  return lines(raw('('), indent(cmd), raw(')'));
}

/** `a || b` (b runs only when a fails). */
export function or(...cmds: Command[]): Command {
  return join(cmds, ' || ');
}

/**
 * A script: one command per line (each runs whatever the one before returned, as with `;`).
 * Example: lines(sh`p=${path}`, sh`rm -f -- "$p"`) renders `p=/tmp/x` and `rm -f -- "$p"` on two lines.
 */
export function lines(...cmds: Command[]): Command {
  return join(cmds, '\n');
}

/**
 * `if COND; then BODY [else OTHERWISE] fi`, a keyword per line and the bodies indented.
 * Example: ifThen(sh`[ -e "$p" ]`, sh`exit 1`) -> `if [ -e "$p" ]; then\n  exit 1\nfi`.
 */
export function ifThen(cond: Command, body: Command, otherwise?: Command): Command {
  return ifChain([[cond, body]], otherwise);
}

/** `if C1; then B1 elif C2; then B2 … [else E] fi`, as `ifThen` with more branches. */
export function ifChain(branches: readonly (readonly [Command, Command])[], otherwise?: Command): Command {
  const parts: Command[] = [];
  branches.forEach(([cond, body], i) => {
    parts.push(sh`${raw(i === 0 ? 'if ' : 'elif ')}${cond}; then`, indent(body));
  });
  if (otherwise) parts.push(raw('else'), indent(otherwise));
  parts.push(raw('fi'));
  return lines(...parts);
}

/** `while COND; do BODY done`, the body indented on its own lines. Example: whileDo(sh`[ -e "$p" ]`, sh`sleep 1`). */
export function whileDo(cond: Command, body: Command): Command {
  return lines(sh`while ${cond}; do`, indent(body), raw('done'));
}

/** `for NAME in WORDS; do BODY done`, the body indented; `words` is shell text such as `$pids` (split by the shell). Example: forIn('c', raw('$hits'), sh`kill "$c"`). */
export function forIn(name: string, words: Command, body: Command): Command {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a shell variable name: ${name}`);
  return lines(sh`for ${raw(name)} in ${words}; do`, indent(body), raw('done'));
}

/** `$( cmd )`: the output of a command, as part of a word or an assignment. Example: sh`cs=${output(checksum)}`. */
export function output(cmd: Command): Command {
  return sh`$( ${cmd} )`;
}

/**
 * The command with two spaces before each of its lines (cutover's own text only: an author's
 * script keeps its lines exactly, and quoted values are never touched).
 */
export function indent(cmd: Command): Command {
  if (cmd.stdin !== undefined) throw new Error('cannot indent a command that has stdin');
  const pieces: Piece[] = [new Raw('  ')];
  for (const p of cmd.pieces) {
    pieces.push(p instanceof Raw && !(p instanceof AuthorText) ? new Raw(p.text.replace(/\n/g, '\n  ')) : p);
  }
  return new Command(pieces);
}

/** `a | b`. */
export function pipe(...cmds: Command[]): Command {
  return join(cmds, ' | ');
}

/** `a; b` (b runs whatever a returned). */
export function seq(...cmds: Command[]): Command {
  return join(cmds, '; ');
}

/** Runs a whole command under `sh -c`, e.g. to detach it; the inner text is quoted as one word. */
export function shc(cmd: Command): Command {
  if (cmd.secrets().length > 0) throw new Error('refusing to nest a command holding a secret inside sh -c');
  return sh`sh -c ${cmd.render('exec')}`;
}

function join(cmds: Command[], sep: string): Command {
  const pieces: Piece[] = [];
  cmds.forEach((c, i) => {
    if (c.stdin !== undefined) throw new Error('cannot combine a command that has stdin');
    if (i > 0) pieces.push(new Raw(sep));
    pieces.push(...c.pieces);
  });
  return new Command(pieces);
}

/** Trusted literal shell text, for the rare fixed snippet (`set -e`, `2>&1`). Never user input. */
export function raw(text: string): Command {
  return new Command([new Raw(text)]);
}

/**
 * Turns an author-written script (a runbook `command:`) into a Command: the text the author
 * wrote is trusted shell, every expanded template value is quoted for where it lands (a word,
 * inside '…', inside "…"), so a param like `x; touch /tmp/pwned` stays harmless text even in
 * `echo '{{ params.instance }}'`. Where no quoting keeps it text (a comment, backticks, arithmetic,
 * a here-document) it is refused, and so is a value given to a program not known to keep it data
 * (`sh -c "…"`, `flock -c`, `watch`, `| sh`, any program the runbook does not list in `safe_programs`); see ShellScanner. Example: script `bash up.sh -n={{ params.instance }}`.
 */
export function script(word: Word): Command {
  const pieces: Piece[] = [];
  const safe = word instanceof TemplatedWord ? word.safePrograms : undefined;
  const scanner = new ShellScanner(new Set(safe ?? []));
  for (const p of partsOf(word)) {
    if (typeof p === 'string') {
      pieces.push(new AuthorText(p));
      scanner.feed(p);
    } else {
      const placed: Placed =
        p instanceof Secret
          ? { text: '', kind: 'secret' }
          : isHostDate(p)
            ? { text: '', kind: 'hostdate' }
            : { text: String(p), kind: 'value' };
      pieces.push({ word: p instanceof Expanded ? p.text : p, within: scanner.context(placed) });
    }
  }
  scanner.finish();
  return new Command(pieces);
}
