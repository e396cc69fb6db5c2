import { type QuoteContext, quote, type RenderMode } from './quote.js';
import { type Placed, ShellScanner } from './scanner.js';
import { Secret } from './secret.js';
import { Expanded, isHostDate, partsOf, TemplatedWord, type Word } from './word.js';

/** A trusted fragment of shell syntax written by cutover itself (operators, keywords). */
class Raw {
  constructor(readonly text: string) {}
}

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
      pieces.push(new Raw(p));
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
