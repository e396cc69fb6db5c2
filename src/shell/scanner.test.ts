import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { script } from './command.js';
import { Expanded, type Part, TemplatedWord } from './word.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-scanner-'));
const marker = join(dir, 'pwned');
/** Tries every way out of every kind of quoting at once. */
const HOSTILE = `x'"; touch ${marker}; echo $(touch ${marker}) \`touch ${marker}\` \\' }) # \n touch ${marker}`;

/** An author's script with `{{}}` where `V` stands: the text around it is trusted, V is the value. */
function authored(text: string, value: string) {
  const parts: Part[] = [];
  text.split('V').forEach((piece, i) => {
    if (i > 0) parts.push(new Expanded(value));
    if (piece) parts.push(piece);
  });
  return script(new TemplatedWord(parts));
}

function run(shell: 'dash' | 'bash', text: string): string {
  return execFileSync(shell, ['-c', text], { encoding: 'utf8', cwd: dir });
}

describe('script(): a value stays text wherever the author put it', () => {
  const cases: Array<[string, (v: string) => string]> = [
    ['printf %s V', (v) => v],
    ['printf %s pre-V-post', (v) => `pre-${v}-post`],
    ["printf %s '<V>'", (v) => `<${v}>`],
    ['printf %s "<V>"', (v) => `<${v}>`],
    ['printf %s "<$(printf %s V)>"', (v) => `<${v}>`],
    ['printf %s "$(printf "%s" "V")"', (v) => v.replace(/\n+$/, '')],
    ['printf %s "<\'V\'>"', (v) => `<'${v}'>`],
    // A `case` pattern's `)` inside $( ) does not end the substitution.
    ['printf %s "$(case a in a) printf %s "V";; esac)"', (v) => v.replace(/\n+$/, '')],
    // Not comments: a # inside a word, after $( ), in quotes; and a value on the line after one.
    ['printf %s a#V', (v) => `a#${v}`],
    ['printf %s $(printf x)#V', (v) => `x#${v}`],
    ["printf %s '#'V", (v) => `#${v}`],
    ['# a note\nprintf %s V', (v) => v],
    // Here-strings and shifts are not here-documents.
    ['printf %s "$((1 << 2))" V', (v) => `4${v}`],
    // An argument to sh -c's script, passed the safe way.
    [`sh -c 'printf %s "$1"' _ V`, (v) => v],
  ];
  for (const [text, expected] of cases) {
    it(`in ${JSON.stringify(text)}`, () => {
      const command = authored(text, HOSTILE).render();
      expect(run('dash', command)).toBe(expected(HOSTILE));
      expect(run('bash', command)).toBe(expected(HOSTILE));
      expect(existsSync(marker)).toBe(false);
    });
  }

  it('in a bash here-string', () => {
    expect(run('bash', authored('cat <<< V', 'a b').render())).toBe('a b\n');
  });
});

describe('script(): refused where no quoting keeps a value text', () => {
  const refused: Array<[string, RegExp]> = [
    ['true # V', /in a comment/],
    ['echo a \\\n# note V', /in a comment/],
    ['echo `echo V`', /inside backticks/],
    ['cat <<EOF\nV\nEOF', /after a here-document/],
    ['echo \\V', /after a backslash/],
    ['echo $((V + 1))', /inside \$\(\( \)\)/],
    ['(( V > 1 ))', /inside \$\(\( \)\) or \(\( \)\)/],
    ['[[ 1 -eq V ]]', /inside \[\[ \]\]/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JS template
    ['echo "${X:-"V"}"', /inside \$\{…\}/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JS template
    ['echo ${X:-V}', /inside \$\{…\}/],
    ["echo $'it\\'s V'", /inside \$'…'/],
    ['sh -c "echo V"', /a second shell parses again/],
    ["bash -lc 'echo V'", /a second shell parses again/],
    ['su - app -c "echo V"', /a second shell parses again/],
    ['sudo -u app /bin/sh -c "echo V"', /a second shell parses again/],
    ['sh -c V', /a second shell parses again/],
    ['eval echo V', /a second shell parses again/],
    ['ssh other "echo V"', /a second shell parses again/],
  ];
  for (const [text, message] of refused) {
    it(`in ${JSON.stringify(text)}`, () => {
      expect(() => authored(text, 'x')).toThrow(message);
    });
  }

  it('names the way out', () => {
    expect(() => authored('sh -c "echo V"', 'x')).toThrow(`sh -c 'echo "$1"' _ {{ params.name }}`);
  });

  it('does not mistake other -c flags or a [[ word for a second shell or a test', () => {
    expect(run('dash', authored('printf %s V | wc -c', 'abc').render()).trim()).toBe('3');
    expect(run('dash', authored('echo -n V | grep -c b', 'abc').render()).trim()).toBe('1');
    expect(run('dash', authored('printf %s "[[" V', 'x').render())).toBe('[[x');
  });
});
