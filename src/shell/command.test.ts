import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  all,
  forIn,
  ifChain,
  ifThen,
  indent,
  lines,
  or,
  output,
  raw,
  script,
  sh,
  subshell,
  whileDo,
} from './command.js';

/** Runs a program under a shell, as a host would (`shell -c`). */
const run = (shell: string, cmd: ReturnType<typeof sh>) =>
  spawnSync(shell, ['-c', cmd.render('exec')], { encoding: 'utf8', timeout: 10_000 });

describe('command combinators', () => {
  it('lay a script out one command per line, keywords on their own lines, bodies indented', () => {
    const cmd = lines(
      sh`p=${'/tmp/a b'}`,
      ifChain(
        [
          [raw('[ -e "$p" ]'), lines(raw('echo there'), raw('exit 1'))],
          [raw('[ -L "$p" ]'), raw('echo link')],
        ],
        raw('echo absent'),
      ),
      whileDo(raw('false'), raw(':')),
      forIn('c', raw('1 2'), raw('echo "$c"')),
      all(raw('true'), raw('echo ok')),
      sh`x=${output(subshell(raw('echo in')))}`,
    );
    expect(String(cmd)).toBe(
      [
        "p='/tmp/a b'",
        'if [ -e "$p" ]; then',
        '  echo there',
        '  exit 1',
        'elif [ -L "$p" ]; then',
        '  echo link',
        'else',
        '  echo absent',
        'fi',
        'while false; do',
        '  :',
        'done',
        'for c in 1 2; do',
        '  echo "$c"',
        'done',
        'true &&',
        '  echo ok',
        'x=$( (',
        '  echo in',
        ') )',
      ].join('\n'),
    );
    expect(String(ifThen(raw('true'), raw('a'), raw('b')))).toBe('if true; then\n  a\nelse\n  b\nfi');
    expect(String(or(raw('a'), raw('b')))).toBe('a || b');
  });

  it('indents cutover text only: quoted values and an author script keep their lines', () => {
    const value = 'line one\nline two';
    // A here-document: indenting its lines would change its text and hide its terminator.
    const author = script("cat <<'EOF'\nkeep\nEOF\necho x");
    const cmd = ifThen(raw('true'), lines(sh`printf '%s\\n' ${value}`, author));
    expect(cmd.render('exec')).toBe(
      `if true; then\n  printf '%s\\n' 'line one\nline two'\n  cat <<'EOF'\nkeep\nEOF\necho x\nfi`,
    );
    for (const shell of ['dash', 'bash']) {
      expect(run(shell, cmd)).toMatchObject({
        status: 0,
        stdout: 'line one\nline two\nkeep\nx\n',
        stderr: '',
      });
    }
    expect(() => indent(sh`cat`.withStdin('x'))).toThrow(/stdin/);
    expect(() => forIn('c; rm', raw('1'), raw(':'))).toThrow(/variable name/);
  });

  it.each(['dash', 'bash'])('runs under %s as the one-line form does', (shell) => {
    const program = (n: string) =>
      lines(
        sh`n=${n}`,
        raw('out='),
        forIn('i', raw('1 2 3'), ifThen(raw('[ "$i" -le "$n" ]'), raw('out="$out$i"'))),
        ifChain([[raw('[ "$out" = 12 ]'), raw('echo two')]], raw('echo "other $out"')),
        sh`${all(raw('true'), raw('[ "$n" != 0 ]'))} || exit 3`,
      );
    expect(run(shell, program('2'))).toMatchObject({ status: 0, stdout: 'two\n' });
    expect(run(shell, program('0'))).toMatchObject({ status: 3, stdout: 'other \n' });
  });
});
