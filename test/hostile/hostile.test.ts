/**
 * The hostile corpus (issue 13): runbooks, params and files built to crash, hang, exhaust memory or
 * inject code. Each goes through the real CLI twice, `validate -i -p` and `plan`: neither may exit
 * 70 (a bug) or run past its limits, both must agree, and a refusal is exit 2 at file:line:col.
 * The process runs with a 384 MB heap: an input that needs more is a failure here.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover } from '../cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-hostile-'));
const INVENTORY = join(dir, 'inventory.yml');
writeFileSync(
  INVENTORY,
  'cluster: hostile\nhosts:\n  a: { address: 127.0.0.1, roles: [web] }\n  b: { address: 127.0.0.2, roles: [web] }\n',
);
mkdirSync(join(dir, 'files'));
writeFileSync(join(dir, 'files', 'ok.tar'), 'x');

/** A runbook with one phase of `steps` (YAML list items, indented 6) and the params block `params`. */
function runbook(steps: string, extra = ''): string {
  return `name: hostile\nparams:\n  p: { type: string, default: x }\n${extra}phases:\n  - id: up\n    hosts: all\n    steps:\n${steps}\n`;
}
const shell = (command: string) => `      - shell.run: { command: ${JSON.stringify(command)} }`;

interface Case {
  name: string;
  text: string | Buffer;
  params?: string[];
  /** The refusal's words, or 'valid'. */
  expect: RegExp | 'valid';
}

const INJECTION: Case[] = [
  ['flock -c', 'flock /tmp/l -c "echo {{ params.p }}"'],
  ['a pipe into sh', "printf '%s\\n' {{ params.p }} | sh"],
  ['a here-string to bash', 'bash <<< {{ params.p }}'],
  ['watch', 'watch -n 1 echo {{ params.p }}'],
  ['xargs sh', 'echo {{ params.p }} | xargs sh'],
  ['nohup sh -c', 'nohup sh -c "echo {{ params.p }}"'],
  ['timeout sh -c', 'timeout 5 sh -c "echo {{ params.p }}"'],
  ['sudo sh -c', 'sudo sh -c "echo {{ params.p }}"'],
  ['env sh -c', 'env A=1 sh -c "echo {{ params.p }}"'],
  ['find -exec', 'find /tmp -exec sh -c "echo {{ params.p }}" \\;'],
  ['ssh', 'ssh other echo {{ params.p }}'],
  ['su -c', 'su app -c "echo {{ params.p }}"'],
  ['runuser -c', 'runuser -u app -- sh -c "echo {{ params.p }}"'],
  ['chroot sh -c', 'chroot /srv sh -c "echo {{ params.p }}"'],
  ['script -c', 'script -qc "echo {{ params.p }}" /dev/null'],
  ['tmux', 'tmux new -d "echo {{ params.p }}"'],
  ['screen', 'screen -dm sh -c "echo {{ params.p }}"'],
  ['a pipe into python3', 'echo {{ params.p }} | python3'],
  ['a pipe into perl', 'echo {{ params.p }} | perl'],
  ['bash -lc', "bash -lc 'echo {{ params.p }}'"],
  ['eval', 'eval echo {{ params.p }}'],
  ['backticks', 'echo `echo {{ params.p }}`'],
  ['a comment', 'true # {{ params.p }}'],
  ['a here-document', 'cat <<EOF\n{{ params.p }}\nEOF'],
  ["$'…'", "echo $'{{ params.p }}'"],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JS template
  ['${X:-…}', 'echo ${X:-{{ params.p }}}'],
  ['an unknown program', 'mytool {{ params.p }}'],
  ['sudo -s', 'sudo -s echo {{ params.p }}'],
  ['a pipe into node', 'echo {{ params.p }} | node'],
  ['an awk program', 'awk "{ print {{ params.p }} }" /etc/hosts'],
  ['tar -I', 'tar -I {{ params.p }} -xf /tmp/a.tar'],
  ['a printf format', 'printf {{ params.p }}'],
].map(([name, command]) => ({
  name: `injection: ${name}`,
  text: runbook(shell(command as string)),
  expect: /cannot|not know|second shell|stdin of|tar runs|printf.s format/,
}));

const VALUES: Case[] = [
  {
    name: 'a bare-number timeout',
    text: runbook(`${shell('true')}\n        timeout: 90`),
    expect: /write 90s/,
  },
  { name: 'a zero timeout', text: runbook(`${shell('true')}\n        timeout: 0s`), expect: /above 0/ },
  {
    name: 'a 99999999h timeout',
    text: runbook(`${shell('true')}\n        timeout: 99999999h`),
    expect: /longest wait/,
  },
  {
    name: 'a 30d retry delay',
    text: runbook(`${shell('true')}\n        retry_delay: 30d`),
    expect: /longest wait/,
  },
  {
    name: 'a 30d canary pause',
    text: runbook(shell('true')).replace(
      'hosts: all',
      'hosts: all\n    rolling: { canary: { hosts: 1, pause: 30d } }',
    ),
    expect: /longest wait/,
  },
  {
    name: 'a NUL in a -p value',
    text: runbook(shell('echo {{ params.p }}')),
    params: ['p=a\u0001b'],
    expect: /control character/,
  },
  {
    name: 'an ESC in a -p value',
    text: runbook(shell('echo {{ params.p }}')),
    params: ['p=\u001b[2J'],
    expect: /ESC/,
  },
  {
    name: 'a newline in a -p value',
    text: runbook(shell('echo {{ params.p }}')),
    params: ['p=x\n$ rm -rf /'],
    expect: /newline/,
  },
  {
    name: 'an ESC escape in YAML',
    text: runbook('      - gate.confirm: { message: "ok\\e[2J" }'),
    expect: /ESC/,
  },
  {
    name: 'a raw ESC byte in the file',
    text: runbook('      - gate.confirm: { message: "ok\u001b[2J" }'),
    expect: /ESC/,
  },
  {
    name: 'invalid UTF-8',
    text: Buffer.concat([Buffer.from(runbook(shell('echo '))), Buffer.from([0xff, 0xfe, 0x0a])]),
    expect: /not valid UTF-8/,
  },
  {
    name: 'a leading dash',
    text: runbook(shell('cat {{ params.p }}')),
    params: ['p=--version'],
    expect: /begins with "-"/,
  },
  {
    name: 'a secret in argv',
    text: runbook(
      shell('mysqldump -p{{ secrets.db }} db'),
      'secrets:\n  db: { from: [ { env: DB } ] }\nsafe_programs: [mysqldump]\n',
    ),
    expect: /process list/,
  },
  {
    name: '.. in archive.extract dest',
    text: runbook('      - archive.extract: { archive: /tmp/a.tar, dest: "/srv/{{ params.p }}" }'),
    params: ['p=../etc'],
    expect: /\.\. segments/,
  },
  {
    name: '.. in yaml.edit file',
    text: runbook('      - yaml.edit: { file: "/srv/{{ params.p }}/a.yml", set: { a: 1 } }'),
    params: ['p=../../etc'],
    expect: /\.\. segments/,
  },
  {
    name: 'an upload src from a param',
    text: runbook('      - file.upload: { src: "files/{{ params.p }}", dest: /tmp/x }'),
    params: ['p=../../../../etc/passwd'],
    expect: /leaves/,
  },
  {
    name: 'an upload of /dev/zero',
    text: runbook('      - file.upload: { src: /dev/zero, dest: /tmp/x }'),
    expect: /not a regular file/,
  },
  {
    name: 'a where: that selects nothing',
    text: runbook(shell('true')).replace('hosts: all', 'hosts: { where: "host.name == \'zz\'" }'),
    expect: /selects no host/,
  },
  {
    name: 'a failure budget above the hosts',
    text: runbook(shell('true')).replace('hosts: all', 'hosts: all\n    rolling: { failure_budget: 5 }'),
    expect: /at most 2 can fail/,
  },
  {
    name: 'a canary above the hosts',
    text: runbook(shell('true')).replace('hosts: all', 'hosts: all\n    rolling: { canary: { hosts: 3 } }'),
    expect: /whole phase/,
  },
];

const anchors = Array.from(
  { length: 12 },
  (_, i) => `  v${i + 1}: &v${i + 1} [${Array(9).fill(`*v${i}`).join(', ')}]`,
).join('\n');
const LIMITS: Case[] = [
  {
    name: 'an alias bomb',
    text: `name: bomb\nvars_src:\n  v0: &v0 ["x"]\n${anchors}\n${runbook(shell('true')).slice('name: hostile\n'.length)}`,
    expect: /aliases/,
  },
  {
    name: 'a 100,000-deep value',
    text: runbook(shell('true'), `vars:\n  deep: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`),
    expect: /nested more than|YAML/,
  },
  {
    name: 'a 5 MB runbook',
    text: runbook(shell('true'), `description: "${'x'.repeat(5 * 1024 * 1024)}"\n`),
    expect: /MiB/,
  },
  { name: '3000 steps', text: runbook(Array(3000).fill(shell('true')).join('\n')), expect: /at most 2000/ },
  {
    name: 'a catastrophic param pattern',
    text: runbook(shell('echo {{ params.q }}'), '  q: { type: string, pattern: "(a+)+" }\n'),
    params: ['q=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'],
    expect: /must match/,
  },
  {
    name: 'a backreference pattern',
    text: runbook(shell('true'), '  q: { type: string, pattern: "(a)\\\\1", default: aa }\n'),
    expect: /linear time/,
  },
  {
    name: 'a wait.log lookahead',
    text: runbook('      - wait.log: { path: /var/log/x, pattern: "a(?=b)" }'),
    expect: /linear time/,
  },
];

const FINE: Case[] = [
  {
    name: 'a value through the environment',
    text: runbook(shell('P={{ params.p }} sh -c \'echo "$P"\'')),
    params: ['p=$(touch /tmp/x)'],
    expect: 'valid',
  },
  {
    name: 'a value as $1',
    text: runbook(shell('sh -c \'echo "$1"\' _ {{ params.p }}')),
    params: ['p=;id'],
    expect: 'valid',
  },
  {
    name: 'a program the author vouches for',
    text: runbook(shell('mytool {{ params.p }}'), 'safe_programs: [mytool]\n'),
    expect: 'valid',
  },
  {
    name: 'an upload inside the runbook folder',
    text: runbook('      - file.upload: { src: "files/{{ params.p }}", dest: /tmp/x }'),
    params: ['p=ok.tar'],
    expect: 'valid',
  },
];

const CORPUS = [...INJECTION, ...VALUES, ...LIMITS, ...FINE];

describe('hostile corpus: validate and plan agree, exit 0 or 2, never 70, within the limits', () => {
  it('holds at least 60 cases', () => expect(CORPUS.length).toBeGreaterThanOrEqual(60));
  CORPUS.forEach((c, i) => {
    it(c.name, async () => {
      const file = join(dir, `case-${i}.yml`);
      writeFileSync(file, c.text);
      const args = ['-r', file, '-i', INVENTORY, ...(c.params ?? []).flatMap((p) => ['-p', p])];
      const env = { NODE_OPTIONS: '--max-old-space-size=384', DB: 'hunter2' };
      const [validate, plan] = await Promise.all([
        cutover(['validate', ...args], { env }),
        cutover(['plan', ...args], { env }),
      ]);
      for (const res of [validate, plan]) {
        expect(res.stderr).not.toMatch(/this is a bug/);
        expect(res.signal).toBeNull();
      }
      if (c.expect === 'valid') {
        expect([validate.code, plan.code, validate.stderr]).toEqual([0, 0, '']);
        return;
      }
      expect([validate.code, plan.code]).toEqual([2, 2]);
      expect(validate.stderr).toMatch(c.expect);
      expect(validate.stderr).toMatch(/case-\d+\.yml:\d+:\d+: /);
      // The same refusal, whichever command met it.
      expect(plan.stderr).toBe(validate.stderr);
    }, 30_000);
  });
});
