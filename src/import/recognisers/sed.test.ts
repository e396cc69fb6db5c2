/**
 * `sed -i` in a runbook: typed as text.edit only when the step does what sed does (checked here
 * against GNU sed itself under dash and bash), else shell.run with a TODO that names the form.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyTextOps } from '../../steps/edits/index.js';
import { textEdit, textOps } from '../../steps/text-edit.js';
import { SHELLS } from '../../steps/test-support.js';
import { parseShellLine } from '../shell-words.js';
import { recognise } from './index.js';
import { recogniseContext } from './test-support.js';
import { parseScript } from './sed.js';

const context = recogniseContext;

function stepOf(line: string) {
  const result = recognise(parseShellLine(line)[0] as never, context());
  if (result.type !== 'steps' || result.steps.length !== 1) throw new Error(`one step expected for ${line}`);
  return result.steps[0] as { kind: string; params: Record<string, unknown>; todo: string[] };
}

describe('sed scripts read as sed reads them', () => {
  it('splits at ; and newlines outside the s halves, and keeps addresses, ranges and flags', () => {
    expect(parseScript('s/a;b/c/g; /^#/d\n3d')).toEqual([
      {
        text: 's/a;b/c/g',
        name: 's',
        addresses: [],
        negated: false,
        s: { from: 'a;b', to: 'c', d: '/', flags: 'g' },
      },
      { text: '/^#/d', name: 'd', addresses: [{ type: 'regex', text: '^#', d: '/' }], negated: false },
      { text: '3d', name: 'd', addresses: [{ type: 'line', text: '3' }], negated: false },
    ]);
    expect(parseScript('/^\\[mysqld\\]/,/^\\[/ s/^x=.*/x=1/')).toMatchObject([
      {
        name: 's',
        addresses: [
          { type: 'regex', text: '^\\[mysqld\\]' },
          { type: 'regex', text: '^\\[' },
        ],
      },
    ]);
    expect(parseScript('\\|^/opt|!d')).toMatchObject([
      { name: 'd', negated: true, addresses: [{ type: 'regex', text: '^/opt', d: '|' }] },
    ]);
    expect(parseScript('$a\\\nlast')).toMatchObject([
      { name: 'a', addresses: [{ type: 'line', text: '$' }] },
    ]);
    expect(parseScript('s/a/b')).toMatch(/cannot be read/);
  });
});

describe('sed -i: typed only when exact', () => {
  it('types replacements in any split (-e, ;, newline) and /RE/d, replacements first', () => {
    for (const line of [
      "sed -i -e 's/a/b/' -e 's/c/d/g' /etc/x.conf",
      "sed -i 's/a/b/; s/c/d/g' /etc/x.conf",
      "sed -i 's/a/b/;s/c/d/g;' /etc/x.conf",
      "sed -i --expression='s/a/b/' --expression 's/c/d/g' /etc/x.conf",
    ]) {
      const step = stepOf(line);
      expect(step.kind, line).toBe('text.edit');
      expect(step.params, line).toEqual({
        file: '/etc/x.conf',
        replace: [
          { pattern: 'a', with: 'b' },
          { pattern: 'c', with: 'd', all: true },
        ],
      });
      expect(step.todo, line).toEqual([]);
    }
    expect(stepOf("sudo sed -i '/^debug=/d' /etc/shop/app.properties")).toMatchObject({
      kind: 'text.edit',
      params: { file: '/etc/shop/app.properties', delete: [{ pattern: '^debug=' }] },
      todo: [],
    });
    expect(stepOf("sed -i -E 's/^(port)=.*/\\1=8081/; /^#/d; \\,^/tmp,d' /etc/a.ini").params).toEqual({
      file: '/etc/a.ini',
      replace: [{ pattern: '^(port)=.*', with: '$1=8081' }],
      delete: [{ pattern: '^#' }, { pattern: '^/tmp' }],
    });
    const bak = stepOf("sed -i.bak '/^#/d' /etc/shop/a.conf");
    expect(bak.kind).toBe('text.edit');
    expect(bak.todo.join()).toMatch(/leaves a copy at \/etc\/shop\/a\.conf\.bak.*uses a\.conf\.bak,/);
  });

  it('leaves every other form to shell, with a TODO naming it and no undo it cannot prove', () => {
    const cases: [string, RegExp][] = [
      ["sed -i '3d' /etc/x", /`3d` picks lines by their number \(3\)/],
      ["sed -i '$d' /etc/x", /by their number \(\$\)/],
      ["sed -i '1,5d' /etc/x", /by their number \(1,5\)/],
      ["sed -i '/^\\[mysqld\\]/,/^\\[/ s/^x=.*/x=1/' /etc/my.cnf", /only between the lines.*section\/key/],
      ["sed -i '/^\\[a\\]/,/^\\[/d' /etc/my.cnf", /a range/],
      ["sed -i '/^port/s/8080/8081/' /etc/x", /replaces only on the lines matching its address/],
      ["sed -i '/^keep/!d' /etc/x", /does not match \(`!`\)/],
      ["sed -i '/^#/d; s/a/b/' /etc/x", /deletes lines before it replaces/],
      ["sed -i 's/a/b/2' /etc/x", /the flags `2`/],
      ["sed -i 's/a/b/I' /etc/x", /the flags `I`/],
      ["sed -i 's/\\d/b/' /etc/x", /read differently/],
      ["sed -i '/\\d/d' /etc/x", /read differently/],
      ["sed -i '/^x/Id' /etc/x", /address.*cannot be read/],
      ["sed -i '$a\\\\last' /etc/x", /the sed command `a`/],
      ["sed -i '/^a/a b=1' /etc/x", /sed command `a`/],
      ["sed -i 'y/abc/xyz/' /etc/x", /sed command `y`/],
      ["sed -i -n 's/a/b/p' /etc/x", /sed -n prints only/],
      ["sed -i -z 's/a/b/' /etc/x", /option -z/],
      ["sed -i 's/a/b/' /etc/x /etc/y", /edits 2 files.*one text\.edit per file/],
      ["sed -i 's/2.4.0/<version>/' /etc/x", /placeholder or a shell expansion/],
      ['sed -i "s/a/$NEW/" /etc/x', /placeholder or a shell expansion/],
      ['sed -i -f fix.sed /etc/x', /in a file/],
    ];
    for (const [line, why] of cases) {
      const step = stepOf(line);
      expect(step.kind, line).toBe('shell.run');
      expect(step.params.undo, line).toBeUndefined();
      expect(step.todo.join('; '), line).toMatch(why);
      expect(step.todo.join('; '), line).not.toMatch(/no recogniser/);
    }
    expect(stepOf("sed -i '3d' /etc/x").todo.join()).toMatch(/no undo: a backup\.copy of \/etc\/x before/);
  });
});

/** Files the equivalence is checked on: comments, CRLF-free ini sections, a missing final newline. */
const FILES = [
  '# shop\ndebug=true\nport=8080\n#debug=false\nname=a.b.c\n',
  '[mysqld]\nport=3306\nskip-name-resolve\n[client]\nport=3306',
  'JAVA_OPTS=-Xmx512m -Xms512m\nexport PATH=/opt/jdk/bin:$PATH\n',
  'aaa\nabc\ncab\n',
];

/** Typed sed lines: the text.edit must leave every file byte-identical to what sed leaves. */
const TYPED = [
  "sed -i 's/a/b/' F",
  "sed -i 's/a/b/g' F",
  "sed -i 's/a/b/; s/b/c/' F",
  "sed -i -e 's/^port=.*/port=9090/' -e '/^#/d' F",
  "sed -i 's|\\(Xm[xs]\\)[[:digit:]]\\+m|\\12g|g' F",
  "sed -E -i 's/(a+)(b)?/[\\2\\1]/g' F",
  "sed -i '/^debug/d' F",
  "sed -i '/=3306$/d; /^\\[/d' F",
  "sed -i 's/\\./_/g; /^$/d' F",
  "sed -i '\\,/opt/,d' F",
];

describe.each(SHELLS)('typed sed -i does what sed does, under %s', (shell) => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-sed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(TYPED)('%s', (line) => {
    const step = stepOf(line.replace(/ F$/, ' /etc/f'));
    expect(step.kind).toBe('text.edit');
    const ops = textOps(textEdit.params.parse({ ...step.params, file: '/etc/f' }));
    for (const [i, original] of FILES.entries()) {
      const file = join(dir, `f${i}`);
      writeFileSync(file, original);
      const run = spawnSync(shell, ['-c', line.replace(/ F$/, ' "$1"'), shell, file], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const bySed = readFileSync(file, 'utf8');
      let byStep: string;
      try {
        byStep = applyTextOps(original, ops);
      } catch (e) {
        // The step fails (loudly) where a pattern matches no line; sed then changes nothing for it.
        expect((e as Error).message, `${line} on ${JSON.stringify(original)}`).toMatch(/matches no line/);
        const lenient = ops.map((op) =>
          op.op === 'xml' || op.op === 'set' ? op : { ...op, allowNoMatch: true },
        );
        byStep = applyTextOps(original, lenient);
      }
      expect(byStep, `${line} on ${JSON.stringify(original)}`).toBe(bySed);
    }
  });
});
