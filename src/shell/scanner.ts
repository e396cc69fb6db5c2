import {
  COMMAND_OPTIONS,
  DATA_PROGRAMS,
  INTERPRETERS,
  PREFIX_KEYWORDS,
  RESHELL,
  SHELLS,
  STDIN_DATA_PROGRAMS,
  WRAPPERS,
} from './programs.js';
import type { QuoteContext } from './quote.js';

/** Where the shell is in the author's text: a command level, or inside some kind of quoting. */
type FrameKind =
  | 'cmd' // the top level
  | 'paren' // $( … ) or a ( … ) subshell
  | 'bt' // ` … `
  | 'test' // [[ … ]] (bash evaluates -eq operands as arithmetic)
  | 'arith' // $(( … )) or (( … ))
  | 'brace' // ${ … }
  | 'dq' // " … "
  | 'sq' // ' … '
  | 'ansi' // $' … '
  | 'comment'; // # … to the end of the line

interface Frame {
  kind: FrameKind;
  /** Command frames: the words of the current simple command, and the word being read. */
  words: string[];
  word: string;
  /** Command frames: open `case … esac` (whose `pat)` does not close a `$(`); arith: open parentheses. */
  depth: number;
  /** A `$( … )`: its output becomes part of the word being read in the frame below. */
  subst: boolean;
  /** The word being read is a redirection target (`> FILE`), or a here-string (`<<< WORD`). */
  redir: boolean;
  herestring: boolean;
  /** A value is in this command (or reaches its stdin through a pipe or a here-string). */
  hasValue: boolean;
  stdinValue: boolean;
  /** Checks that need the rest of the command (its program, or the end of a value's word). */
  pending: Array<(word: string) => void>;
}

/** A value being placed: its text (empty for a secret, which is never looked at) and what it is. */
export interface Placed {
  text: string;
  kind: 'value' | 'secret' | 'hostdate';
}

const COMMAND_FRAMES: ReadonlySet<FrameKind> = new Set(['cmd', 'paren', 'bt', 'test']);
/** Marks where a value sits inside a word while the scanner reads the rest of it. */
const MARK = '\u0000';
const unquote = (word: string) => word.replace(/['"\\]/g, '');
const basename = (word: string) => {
  const w = unquote(word);
  return w.slice(w.lastIndexOf('/') + 1);
};
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const WAY_OUT_ENV =
  'pass it through the environment (NAME={{ params.name }} prog "$NAME", or shell.run\'s env:) or as a positional argument: sh -c \'echo "$1"\' _ {{ params.name }}';
const WAY_OUT_SAFE = "or, if PROG never runs its arguments as code, list it in the runbook's safe_programs:";

/**
 * The program a command runs, looking through assignments, keywords and wrappers (`nohup`,
 * `timeout 5`, `sudo -u app`, `env X=1`). `index` is the word index of the program; `reparse` is
 * set when a wrapper itself re-parses (`sudo -s`, `env -S`). Undefined while no program is read yet.
 */
export function programOf(
  words: readonly string[],
): { name: string; index: number; reparse?: string } | undefined {
  let i = 0;
  while (i < words.length && ASSIGNMENT.test(words[i] as string)) i++;
  while (i < words.length) {
    const word = words[i] as string;
    const name = basename(word);
    const wrapper = WRAPPERS.get(name);
    if (!wrapper || word.includes(MARK) || /[$`]/.test(word))
      return {
        name: word.includes(MARK) || /[$`]/.test(word) ? word.replaceAll(MARK, '{{ }}') : name,
        index: i,
      };
    i++;
    let operands = wrapper.operands;
    while (i < words.length) {
      const w = unquote(words[i] as string);
      if (name === 'sudo' && /^(-[A-Za-z]*[si][A-Za-z]*|--shell|--login)$/.test(w))
        return { name, index: i - 1, reparse: 'sudo -s/-i' };
      if (name === 'env' && /^(-[A-Za-z]*S|--split-string)/.test(w))
        return { name, index: i - 1, reparse: 'env -S' };
      if (w === '--') {
        i++;
        break;
      }
      if (w.startsWith('-') && w.length > 1) {
        i += wrapper.withValue.has(w) ? 2 : 1;
        continue;
      }
      if (name === 'env' && ASSIGNMENT.test(w)) {
        i++;
        continue;
      }
      if (operands > 0) {
        operands--;
        i++;
        continue;
      }
      break;
    }
  }
  return undefined;
}

/**
 * Follows POSIX shell (and bash's) quoting through an author-written script, far enough to say
 * what a value inserted at the current point would be part of, and to refuse the places where no
 * quoting keeps it text: comments, backticks, arithmetic, `${…}`, `$'…'`, `[[ ]]`, here-documents.
 * Then, from the safe side, whether the program that receives it keeps it data: an argument of a
 * program in DATA_PROGRAMS (or the author's `safe_programs`), a positional argument after a
 * shell's script, an assignment, a redirection target; anything else, and a pipe or here-string
 * into a program that is not known to read stdin as data, is refused (see ./programs.ts).
 */
export class ShellScanner {
  #stack: Frame[] = [frame('cmd')];
  #escaped = false;
  #heredoc = false;
  #prev = '';

  /** `safe`: programs the runbook author vouches for (`safe_programs:`); they count as data-keeping. */
  constructor(readonly safe: ReadonlySet<string> = new Set()) {}

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      const next = text[i + 1];
      const f = this.#top();
      if (this.#escaped) {
        this.#escaped = false;
        // A backslash-newline joins lines: it is not part of any word.
        if (!(c === '\n' && COMMAND_FRAMES.has(f.kind))) this.#wordOf(f).word += c;
        this.#prev = c;
        continue;
      }
      switch (f.kind) {
        case 'sq':
          if (c === "'") this.#stack.pop();
          else this.#wordOf(f).word += c;
          break;
        case 'ansi':
          if (c === '\\') this.#escaped = true;
          else if (c === "'") this.#stack.pop();
          break;
        case 'comment':
          if (c === '\n') {
            this.#stack.pop();
            this.#endCommand(this.#top(), false);
          }
          break;
        case 'arith':
          if (c === '(') f.depth += 1;
          else if (c === ')' && f.depth > 0) f.depth -= 1;
          else if (c === ')' && next === ')') {
            this.#stack.pop();
            i += 1;
          }
          break;
        case 'dq':
        case 'brace':
          if (c === '\\') this.#escaped = true;
          else if (f.kind === 'dq' && c === '"') this.#stack.pop();
          else if (f.kind === 'brace' && c === '}') this.#stack.pop();
          else if (f.kind === 'brace' && c === '"') this.#push('dq');
          // Inside "${…}" single quotes are plain characters; inside an unquoted ${…} they quote.
          else if (f.kind === 'brace' && c === "'" && this.#below(f)?.kind !== 'dq') this.#push('sq');
          else {
            const j = this.#expansion(text, i);
            if (j === i && f.kind === 'dq' && this.#top() === f) this.#wordOf(f).word += c;
            i = j;
          }
          break;
        default:
          i = this.#command(f, text, i);
      }
      this.#prev = text[i] as string;
    }
  }

  /** The context of a value inserted here; throws where it cannot be kept text or data. */
  context(value: Placed = { text: '', kind: 'value' }): QuoteContext {
    const refuse = (where: string, hint = 'put it where it is a word of its own, or inside \'…\' or "…"') => {
      throw new Error(`a {{ }} value ${where} cannot be quoted safely; ${hint}`);
    };
    if (this.#escaped) refuse('right after a backslash');
    const kinds = new Set(this.#stack.map((f) => f.kind));
    if (kinds.has('comment')) refuse('in a comment');
    if (kinds.has('bt')) refuse('inside backticks', 'use $( ) instead of backticks');
    if (kinds.has('arith')) refuse('inside $(( )) or (( ))', 'compare it with test/[ ] instead');
    if (kinds.has('test')) refuse('inside [[ ]]', 'use test or [ ] instead');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JS template
    if (kinds.has('brace')) refuse('inside ${…}');
    if (kinds.has('ansi')) refuse("inside $'…'");
    if (this.#heredoc) refuse('after a here-document (<<)', 'pass it as an argument, not in the document');
    const top = this.#top();
    const inner = this.#wordOf(top);
    if (value.kind !== 'hostdate') {
      // The value's command, then every command whose word a $( … ) around it becomes part of.
      let index = this.#stack.indexOf(inner);
      for (let first = true; ; first = false) {
        const f = this.#stack[index] as Frame;
        this.#checkPlace(f, value, first);
        if (!f.subst || index === 0) break;
        index = this.#stack.indexOf(this.#commandFrame(index - 1));
      }
    }
    inner.word += MARK;
    if (top.kind === 'sq') return 'single';
    if (top.kind === 'dq') return 'double';
    return 'word';
  }

  /** Ends the script: runs the checks that needed the rest of a command (a pipe after a value, `<<< V prog`). */
  finish(): void {
    for (const f of [...this.#stack].reverse()) if (COMMAND_FRAMES.has(f.kind)) this.#endCommand(f, false);
  }

  /** Where a value lands in command frame `f`: is the program known to keep it data? */
  #checkPlace(f: Frame, value: Placed, innermost: boolean): void {
    // A secret is the operator's own value: it may flow into any program's stdin.
    if (value.kind === 'value') f.hasValue = true;
    const word = unquote(f.word.replaceAll(MARK, ''));
    const shown = unquote(`${f.words.concat(f.word).join(' ')}{{ }}`.replaceAll(MARK, '{{ }}'));
    const place = `in ${JSON.stringify(shown.length > 60 ? `${shown.slice(0, 57)}...` : shown || '…')}`;
    if (f.redir && !f.herestring) return; // a file name: `> {{ p }}`
    if (f.herestring) {
      if (value.kind === 'value') f.stdinValue = true;
      return;
    }
    const words = f.words;
    const program = programOf(words);
    if (!program) {
      if (ASSIGNMENT.test(f.word)) return; // NAME={{ p }}: the environment is data
      if (value.kind === 'secret') return;
      // The value is part of the program's name: the author must have written a prefix of it
      // (`one-{{ host.name }}`) or its last path segment (`{{ params.home }}/bin/startup.sh`).
      if (/[^/.]/.test(word)) return;
      f.pending.push((done) => {
        if (!/\u0000[^\u0000]*\/[^/\u0000]+$/.test(unquote(done)))
          throw new Error(
            `a {{ }} value ${place} would choose the program to run; write the program's name yourself (e.g. "{{ params.home }}/bin/startup.sh"), or pass the value as an argument`,
          );
      });
      return;
    }
    const name = program.name;
    const at = words.length;
    const safe = this.safe.has(name);
    if (innermost && value.kind === 'secret' && !(name === 'echo' || name === 'printf')) {
      throw new Error(
        `a {{ secrets.… }} value ${place} would be in the argv of ${name} on the host, where every user sees it in the process list; pass it on stdin (printf '%s' {{ secrets.x }} | ${name} …), in an environment variable (shell.run env:), or in a mode 600 file the step removes`,
      );
    }
    if (innermost && value.kind === 'value' && value.text.startsWith('-') && word === '' && !safe) {
      const dashes = words.slice(program.index + 1).some((w) => unquote(w) === '--');
      if (!dashes)
        throw new Error(
          `the value ${JSON.stringify(value.text.slice(0, 40))} ${place} begins with "-", so ${name} would read it as an option; write -- before it, or ./ before a relative path`,
        );
    }
    if (safe) return;
    const reshell = (why: string): never => {
      throw new Error(
        `a {{ }} value ${place} is in a script that a second shell parses again (${why}); ${WAY_OUT_ENV}`,
      );
    };
    if (program.reparse) reshell(program.reparse);
    const codeFlag = SHELLS.has(name) ? /^-[A-Za-z]*c$/ : INTERPRETERS.get(name);
    if (codeFlag) {
      const args = words.slice(program.index + 1).map(unquote);
      const flag = args.findIndex((w) => codeFlag.test(w));
      const operand = args.findIndex((w) => !w.startsWith('-') || w === '-');
      const scriptAt = program.index + 1 + (flag >= 0 ? flag + 1 : operand);
      const scriptWord = words[scriptAt];
      if (
        (flag >= 0 || operand >= 0) &&
        at > scriptAt &&
        scriptWord !== undefined &&
        !scriptWord.includes(MARK)
      )
        return;
      reshell(`${name}${flag >= 0 ? ` ${args[flag]}` : ''}`);
    }
    if (DATA_PROGRAMS.has(name)) {
      const options = COMMAND_OPTIONS.get(name);
      const prev = unquote(words[at - 1] ?? '');
      if (
        options &&
        (options.has(prev) || [...options].some((o) => o.startsWith('--') && word.startsWith(`${o}=`)))
      )
        throw new Error(
          `a {{ }} value ${place} is a command that ${name} runs (${prev || word}); ${WAY_OUT_ENV}`,
        );
      if (name === 'printf' && words.slice(program.index + 1).every((w) => unquote(w).startsWith('-')))
        throw new Error(
          `a {{ }} value ${place} would be printf's format; write the format yourself: printf '%s\\n' {{ params.x }}`,
        );
      return;
    }
    if (RESHELL.has(name)) reshell(name);
    throw new Error(
      `a {{ }} value ${place} is an argument of ${name}, which cutover does not know to keep its arguments data (it may run them as code); ${WAY_OUT_ENV}, ${WAY_OUT_SAFE.replace('PROG', name)} [${name}]`,
    );
  }

  /** One character at a command level; returns the index of the last character it consumed. */
  #command(f: Frame, text: string, i: number): number {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '\\') {
      this.#escaped = true;
      return i;
    }
    if (c === "'") {
      f.word += "'";
      this.#push('sq');
      return i;
    }
    if (c === '"') {
      f.word += '"';
      this.#push('dq');
      return i;
    }
    if (c === '`' && f.kind === 'bt') {
      this.#endCommand(f, false);
      this.#stack.pop();
      return i;
    }
    if (c === '$' || c === '`') {
      f.word += c;
      return this.#expansion(text, i);
    }
    if (c === '#' && f.word === '') {
      this.#push('comment');
      return i;
    }
    if (c === '(' && next === '(' && f.word === '') {
      this.#push('arith');
      return i + 1;
    }
    if (c === '(') {
      this.#endWord(f);
      this.#push('paren');
      return i;
    }
    if (c === ')') {
      // In `case x in a) …`, the `)` ends a pattern, not the $( ) around it.
      if (f.kind === 'paren' && f.depth === 0) {
        this.#endCommand(f, false);
        this.#stack.pop();
        this.#top().word += ')';
      } else {
        this.#endWord(f);
        if (f.depth > 0) f.words = [];
      }
      return i;
    }
    if (c === '<' && next === '<') {
      this.#endWord(f);
      if (text[i + 2] === '<') {
        f.redir = true;
        f.herestring = true;
        return i + 2;
      }
      this.#heredoc = true;
      return i + 1;
    }
    if (c === '&' && (this.#prev === '>' || this.#prev === '<' || next === '>')) {
      // 2>&1, <&0, &> file: part of a redirection.
      if (next === '>') this.#endWord(f);
      f.redir = true;
      return i;
    }
    if (c === '|' && this.#prev === '>') return i; // >| file
    if (c === '|' || c === '&' || c === ';' || c === '\n') {
      const pipe = c === '|' && next !== '|';
      this.#endCommand(f, pipe);
      if ((c === '|' || c === '&') && next === c) return i + 1;
      if (c === '|' && next === '&') return i + 1;
      return i;
    }
    if (c === '<' || c === '>') {
      // A file-descriptor number before it (2>file) is not a word of the command.
      if (/^\d+$/.test(f.word)) f.word = '';
      else this.#endWord(f);
      f.redir = true;
      return i;
    }
    if (c === ' ' || c === '\t') {
      this.#endWord(f);
      return i;
    }
    f.word += c;
    return i;
  }

  /** `$(`, `$((`, `${`, `$'`, or a backtick at position i; returns the last index consumed. */
  #expansion(text: string, i: number): number {
    const c = text[i];
    if (c === '`') {
      this.#push('bt');
      return i;
    }
    if (c !== '$') return i;
    const next = text[i + 1];
    if (next === '(' && text[i + 2] === '(') {
      this.#push('arith');
      return i + 2;
    }
    if (next === '(') {
      this.#push('paren');
      this.#top().subst = true;
      return i + 1;
    }
    if (next === '{') {
      this.#push('brace');
      return i + 1;
    }
    if (next === "'" && this.#top().kind !== 'dq') {
      this.#push('ansi');
      return i + 1;
    }
    return i;
  }

  #endWord(f: Frame): void {
    if (f.word === '') return;
    const word = f.word;
    f.word = '';
    if (f.redir) {
      f.redir = false;
      f.herestring = false;
      return;
    }
    const commandPosition = f.words.length === 0;
    if (commandPosition && PREFIX_KEYWORDS.has(word)) return;
    f.words.push(word);
    if (commandPosition && word === 'case') f.depth += 1;
    if (commandPosition && word === 'esac' && f.depth > 0) f.depth -= 1;
    if (commandPosition && word === '[[') {
      f.words = [];
      this.#push('test');
    }
    if (f.kind === 'test' && word === ']]') {
      this.#stack.pop();
      this.#top().word += ']]';
    }
    const checks = f.pending;
    f.pending = [];
    for (const check of checks) check(word);
  }

  /** Ends a simple command; `pipe`: its output (and any value in it) flows into the next one's stdin. */
  #endCommand(f: Frame, pipe: boolean): void {
    this.#endWord(f);
    if (!COMMAND_FRAMES.has(f.kind)) return;
    if (f.stdinValue && f.words.length > 0) {
      const program = programOf(f.words);
      const name = program?.name ?? unquote(f.words[0] as string);
      const codeFlag = SHELLS.has(name) ? /^-[A-Za-z]*c$/ : INTERPRETERS.get(name);
      const scripted = codeFlag !== undefined && f.words.some((w) => codeFlag.test(unquote(w)));
      if (!this.safe.has(name) && !STDIN_DATA_PROGRAMS.has(name) && !(scripted && !program?.reparse))
        throw new Error(
          `a {{ }} value reaches the stdin of ${name} (through a pipe or <<<), which cutover does not know to read it as data (a shell or an interpreter runs it as code); ${WAY_OUT_ENV}, ${WAY_OUT_SAFE.replace('PROG', name)} [${name}]`,
        );
    }
    const carry = pipe && (f.hasValue || f.stdinValue);
    f.words = [];
    f.hasValue = false;
    f.stdinValue = carry;
    f.redir = false;
    f.herestring = false;
  }

  /** The command frame whose word the characters read in `f` belong to (f itself, or the one below a quote). */
  #wordOf(f: Frame): Frame {
    return this.#commandFrame(this.#stack.indexOf(f));
  }

  /** The nearest command frame at or below stack index `from`. */
  #commandFrame(from: number): Frame {
    for (let i = from; i >= 0; i--) {
      const f = this.#stack[i] as Frame;
      if (COMMAND_FRAMES.has(f.kind)) return f;
    }
    return this.#stack[0] as Frame;
  }

  #top(): Frame {
    return this.#stack[this.#stack.length - 1] as Frame;
  }

  #push(kind: FrameKind): void {
    this.#stack.push(frame(kind));
  }

  /** The nearest frame under `f` that is not a ${…}. */
  #below(f: Frame): Frame | undefined {
    const i = this.#stack.indexOf(f);
    return this.#stack
      .slice(0, i)
      .reverse()
      .find((x) => x.kind !== 'brace');
  }
}

function frame(kind: FrameKind): Frame {
  return {
    kind,
    words: [],
    word: '',
    depth: 0,
    subst: false,
    redir: false,
    herestring: false,
    hasValue: false,
    stdinValue: false,
    pending: [],
  };
}
