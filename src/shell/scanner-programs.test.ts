/**
 * The scanner's rule from the safe side (issue 13): a value may be an argument only of a program
 * known to keep it data. Every allowed context is run under dash and bash with a payload that
 * creates a marker file if any part of it ran as code; every refused one names the program and the way out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { script } from './command.js';
import { Secret } from './secret.js';
import { Expanded, type Part, TemplatedWord } from './word.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-programs-'));
const marker = join(dir, 'pwned');
/** Every way out of every kind of quoting, and code for a second shell, python, perl and node. */
const PAYLOAD = `x'"; touch ${marker}; echo $(touch ${marker}) \`touch ${marker}\` \\' }) # \n touch ${marker}\nimport os; os.system("touch ${marker}")`;

function authored(text: string, value: string | Part, safe?: string[]) {
  const parts: Part[] = [];
  text.split('V').forEach((piece, i) => {
    if (i > 0) parts.push(typeof value === 'string' ? new Expanded(value) : value);
    if (piece) parts.push(piece);
  });
  return script(new TemplatedWord(parts, safe));
}

function run(shell: 'dash' | 'bash', text: string): void {
  mkdirSync(join(dir, 'w'), { recursive: true });
  writeFileSync(join(dir, 'w', 'f'), 'line\n');
  try {
    execFileSync(shell, ['-c', text], { cwd: join(dir, 'w'), stdio: 'pipe', timeout: 10_000 });
  } catch {
    // Failing is fine (a file named like the payload does not exist); running the payload is not.
  }
}

afterEach(() => rmSync(join(dir, 'w'), { recursive: true, force: true }));

/** Contexts where the value must stay data: run under dash and bash, the marker must never appear. */
const ALLOWED = [
  'printf %s V',
  "printf '%s\\n' V",
  'printf "%s" "V"',
  'echo V',
  'echo "V"',
  "echo 'V'",
  'echo pre-V-post',
  'cat -- V',
  'cat f > V',
  'cat f >> "V"',
  'cat < V',
  'cat f 2> V',
  'cp f V',
  'cp -- f "V"',
  'mv -f f V',
  'rm -f -- V',
  'mkdir -p V',
  'touch V',
  'ln -sf f V',
  'test -e V',
  '[ -e V ]',
  '[ "V" = x ]',
  'test -n "V" && echo yes',
  'if test -e V; then echo yes; fi',
  'grep -F -e V f',
  'grep -c -- V f || true',
  'head -n 1 f | grep -F -- V',
  'wc -c f V',
  'tail -n 1 V',
  'stat V',
  'ls -d V',
  'du -s V',
  'chmod 600 V',
  'tar -cf V f',
  'for x in V; do echo "$x"; done',
  'case V in *) echo matched;; esac',
  'X=V; echo "$X"',
  'X="V" printf "%s" "$X"',
  'export X=V',
  'echo "$(printf %s V)"',
  'echo "$(echo "V")"',
  'cat "$(echo V)" || true',
  'sh -c \'printf %s "$1"\' _ V',
  'bash -c \'printf %s "$1"\' sh V',
  'sh -e ./script.sh V',
  "python3 -c 'import sys; print(sys.argv[1])' V",
  "perl -e 'print shift' V",
  'printf %s V | grep -F x',
  'printf %s V | wc -c',
  'printf %s V | sha256sum',
  'cat <<< V',
  'grep -F x <<< V',
  'nohup cp f V',
  'timeout 5 cat V',
  'nice -n 5 cat V',
  'env X=1 cat V',
  'sudo -n -u nobody cat V 2>/dev/null || true',
  'command cat V',
  'exec cat V',
  'cat V 2>&1 | tee /dev/null',
  'sleep 0 && echo V',
  '! test -e V',
  '{ echo V; }',
  '(echo V)',
  'curl -fsS --max-time 1 file:///nonexistent/V || true',
];

describe('script(): allowed contexts keep the value data under dash and bash', () => {
  for (const text of ALLOWED) {
    it(`in ${JSON.stringify(text)}`, () => {
      const command = authored(text, PAYLOAD).render();
      run('dash', command);
      run('bash', command);
      expect(existsSync(marker)).toBe(false);
    });
  }
  it('holds a corpus of at least 40 contexts', () => expect(ALLOWED.length).toBeGreaterThanOrEqual(40));
});

/** Contexts where a second shell, an interpreter or an unknown program may run the value: refused. */
const REFUSED: Array<[string, RegExp]> = [
  ['flock /tmp/l -c "echo V"', /second shell parses again \(flock\)/],
  ['flock -x /tmp/l -c V', /flock/],
  ["printf '%s\\n' V | sh", /stdin of sh/],
  ['echo V | bash', /stdin of bash/],
  ['echo V | dash -s', /stdin of dash/],
  ['echo V | python3', /stdin of python3/],
  ['echo V | perl', /stdin of perl/],
  ['echo V | ruby', /stdin of ruby/],
  ['echo V | node', /stdin of node/],
  ['echo V | php', /stdin of php/],
  ['echo V | mysql db', /stdin of mysql/],
  ['echo V | grep . | sh', /stdin of sh/],
  ['echo V |& sh', /stdin of sh/],
  ['bash <<< V', /stdin of bash/],
  ['sh <<< "V"', /stdin of sh/],
  ['<<< V sh', /stdin of sh/],
  ['watch -n 1 echo V', /second shell parses again \(watch\)/],
  ['echo V | xargs sh -c', /stdin of xargs/],
  ['xargs -I{} sh -c V', /xargs/],
  ['nohup sh -c "echo V"', /second shell parses again \(sh -c\)/],
  ['timeout 5 sh -c "echo V"', /sh -c/],
  ['timeout -s KILL 5 bash -c V', /bash -c/],
  ['sudo sh -c "echo V"', /sh -c/],
  ['sudo -u app bash -lc "echo V"', /bash -lc/],
  ['sudo -s echo V', /sudo -s/],
  ['sudo -i V', /sudo -s/],
  ['env X=1 sh -c "echo V"', /sh -c/],
  ['env -S "echo V"', /env -S/],
  ['find / -name x -exec sh -c "echo V" \\;', /find/],
  ['find . -name V', /find/],
  ['ssh other echo V', /ssh/],
  ['su - app -c "echo V"', /su/],
  ['su app -c V', /su/],
  ['runuser -u app -- sh -c V', /runuser/],
  ['chroot /srv sh -c "echo V"', /chroot/],
  ['script -qc "echo V" /dev/null', /script/],
  ['tmux new-session -d "echo V"', /tmux/],
  ['screen -dmS s sh -c "echo V"', /screen/],
  ['eval echo V', /eval/],
  ['. V', /\./],
  ['source V', /source/],
  ["trap 'echo V' EXIT", /trap/],
  ['python3 -c "print(V)"', /python3 -c/],
  ["perl -e 'print V'", /perl -e/],
  ['node -e V', /node -e/],
  ['bash V', /bash/],
  ['awk "{print V}" f', /awk/],
  ["sed -e 's/a/V/' f", /sed/],
  ['mytool --name V', /mytool, which cutover does not know/],
  ['tar -I V -xf a.tar', /tar runs/],
  ['tar --to-command=V -xf a.tar', /tar runs/],
  ['rsync -e V a b', /rsync runs/],
  ['printf V', /printf's format/],
  ['printf "V"', /printf's format/],
  ['sh -c "$(printf %s V)"', /sh -c/],
  ['echo `V`', /backticks/],
  ['V --version', /choose the program/],
  ['"V" arg', /choose the program/],
  ['case x in a) sh -c V;; esac', /sh -c/],
  ['at now <<< V', /stdin of at/],
  ['crontab <<< V', /stdin of crontab/],
  ['parallel echo ::: V', /parallel/],
];

describe('script(): refused where the receiving program is not known to keep the value data', () => {
  for (const [text, message] of REFUSED) {
    it(`in ${JSON.stringify(text)}`, () => {
      expect(() => authored(text, 'x')).toThrow(message);
    });
  }
  it('holds a corpus of at least 40 contexts', () => expect(REFUSED.length).toBeGreaterThanOrEqual(40));

  it('names the program and both ways out', () => {
    expect(() => authored('mytool V', 'x')).toThrow(
      /NAME=\{\{ params.name \}\}.*sh -c 'echo "\$1"' _.*safe_programs:.*\[mytool\]/,
    );
  });

  it('lets the author vouch for a program with safe_programs', () => {
    const command = authored('printf %s V | mytool; mytool --name V', PAYLOAD, ['mytool']).render();
    expect(command).toContain('mytool --name');
    run('dash', command);
    expect(existsSync(marker)).toBe(false);
  });

  it('allows a value as part of the program path when the author wrote its name', () => {
    expect(authored('V/bin/startup.sh', '/opt/tomcat').render()).toBe('/opt/tomcat/bin/startup.sh');
    expect(() => authored('V/bin/', '/opt/tomcat')).toThrow(/choose the program/);
  });
});

describe('script(): values that become options', () => {
  const options = [
    'cat V',
    'rm -f V',
    'cp V /tmp/x',
    'ls "V"',
    "grep -F 'V' f",
    'mkdir -p V',
    'timeout 5 cat V',
    'sudo -u app rm V',
  ];
  for (const text of options) {
    it(`refuses a leading - in ${JSON.stringify(text)}`, () => {
      expect(() => authored(text, '--version')).toThrow(/begins with "-".*write -- before it/);
    });
  }
  const fine = [
    'cat -- V',
    'rm -f -- V',
    'cat ./V',
    'cat pre-V',
    'echo x > V',
    'X=V',
    'cat f | grep -F -- V',
  ];
  for (const text of fine) {
    it(`accepts it after -- or inside a word: ${JSON.stringify(text)}`, () => {
      expect(() => authored(text, '--version')).not.toThrow();
    });
  }
});

describe('script(): secrets never reach a command line on the host', () => {
  const secret = new Secret('db', 'hunter2');
  for (const text of [
    'mysqldump -pV db',
    'mysql --password=V',
    'curl -u admin:V http://x/',
    'redis-cli -a V',
    'docker login -p V',
    'cp V /tmp/x',
    'sudo -S true <<< x; mytool V',
  ]) {
    it(`refuses a secret in argv: ${JSON.stringify(text)}`, () => {
      expect(() => authored(text, secret, ['mytool', 'mysqldump', 'mysql', 'redis-cli', 'docker'])).toThrow(
        /argv of .* process list.*stdin/,
      );
    });
  }
  for (const text of [
    "printf '%s' V | mysql --defaults-file=/dev/stdin",
    'MYSQL_PWD=V mysqldump db',
    'mysql <<< V',
    'echo V | docker login --password-stdin',
  ]) {
    it(`accepts it on stdin or in the environment: ${JSON.stringify(text)}`, () => {
      expect(() => authored(text, secret)).not.toThrow();
    });
  }
});
