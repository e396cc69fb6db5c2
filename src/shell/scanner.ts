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
}

const COMMAND_FRAMES: ReadonlySet<FrameKind> = new Set(['cmd', 'paren', 'bt', 'test']);
/** Words after which the rest of the command is parsed by a second shell. */
const RESHELL_COMMANDS = new Set(['eval', 'ssh']);
/** `sh -c`, `bash -lc`, `su - app -c`: the argument of -c is a script for a second shell. */
const SCRIPT_FLAG = /^-[A-Za-z]*c$/;
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'busybox', 'su', 'runuser']);
const basename = (word: string) => word.slice(word.lastIndexOf('/') + 1);

/**
 * Follows POSIX shell (and bash's) quoting through an author-written script, far enough to say
 * what a value inserted at the current point would be part of, and to refuse the places where no
 * quoting keeps it text: comments, backticks, arithmetic, `${…}`, `$'…'`, `[[ ]]`, here-documents,
 * and arguments a second shell parses again (`sh -c`, `eval`, `ssh`).
 */
export class ShellScanner {
  #stack: Frame[] = [frame('cmd')];
  #escaped = false;
  #heredoc = false;

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      const next = text[i + 1];
      const f = this.#top();
      if (this.#escaped) {
        this.#escaped = false;
        // A backslash-newline joins lines: it is not part of any word.
        if (!(c === '\n' && COMMAND_FRAMES.has(f.kind))) f.word += c;
        continue;
      }
      switch (f.kind) {
        case 'sq':
          if (c === "'") this.#stack.pop();
          continue;
        case 'ansi':
          if (c === '\\') this.#escaped = true;
          else if (c === "'") this.#stack.pop();
          continue;
        case 'comment':
          if (c === '\n') {
            this.#stack.pop();
            this.#endCommand(this.#top());
          }
          continue;
        case 'arith':
          if (c === '(') f.depth += 1;
          else if (c === ')' && f.depth > 0) f.depth -= 1;
          else if (c === ')' && next === ')') {
            this.#stack.pop();
            i += 1;
          }
          continue;
        case 'dq':
        case 'brace':
          if (c === '\\') this.#escaped = true;
          else if (f.kind === 'dq' && c === '"') this.#stack.pop();
          else if (f.kind === 'brace' && c === '}') this.#stack.pop();
          else if (f.kind === 'brace' && c === '"') this.#push('dq');
          // Inside "${…}" single quotes are plain characters; inside an unquoted ${…} they quote.
          else if (f.kind === 'brace' && c === "'" && this.#below(f)?.kind !== 'dq') this.#push('sq');
          else i = this.#expansion(text, i);
          continue;
        default:
          i = this.#command(f, text, i);
      }
    }
  }

  /** The context of a value inserted here; throws where it cannot be kept text. */
  context(): QuoteContext {
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
    const cmd = [...this.#stack].reverse().find((f) => COMMAND_FRAMES.has(f.kind)) as Frame;
    // The word being read is the argument of a shell's -c, or the command is eval or ssh.
    const words = cmd.words;
    const script =
      SCRIPT_FLAG.test(words.at(-1) ?? '') && words.slice(0, -1).some((w) => SHELLS.has(basename(w)));
    if (script || words.some((w) => RESHELL_COMMANDS.has(basename(w))))
      refuse(
        'in a script that a second shell parses again (sh -c, su -c, eval, ssh)',
        `pass it as an argument instead, e.g. sh -c 'echo "$1"' _ {{ params.name }}`,
      );
    if (COMMAND_FRAMES.has(top.kind)) top.word += '\u0000';
    if (top.kind === 'sq') return 'single';
    if (top.kind === 'dq') return 'double';
    return 'word';
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
      this.#endWord(f);
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
      this.#endWord(f);
      // In `case x in a) …`, the `)` ends a pattern, not the $( ) around it.
      if (f.kind === 'paren' && f.depth === 0) {
        this.#stack.pop();
        this.#top().word += ')';
      }
      return i;
    }
    if (c === '<' && next === '<') {
      this.#endWord(f);
      if (text[i + 2] === '<') return i + 2;
      this.#heredoc = true;
      return i + 1;
    }
    if (c === ';' || c === '&' || c === '|' || c === '\n') {
      this.#endCommand(f);
      return i;
    }
    if (c === ' ' || c === '\t' || c === '<' || c === '>') {
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
    const commandPosition = f.words.length === 0;
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
  }

  #endCommand(f: Frame): void {
    this.#endWord(f);
    if (COMMAND_FRAMES.has(f.kind)) f.words = [];
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
  return { kind, words: [], word: '', depth: 0 };
}
