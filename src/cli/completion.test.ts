/** Shell completion (the built CLI): the scripts parse, and the hidden entry point they call completes commands, options, run ids, step ids and hosts. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover } from '../../test/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-completion-'));
const state = join(dir, 'state');
const RUN = '20261202-101500-ab12';
mkdirSync(join(state, 'runs', RUN), { recursive: true });
writeFileSync(join(state, 'runs', RUN, 'events.jsonl'), '');
writeFileSync(
  join(state, 'runs', RUN, 'plan.json'),
  JSON.stringify({
    hosts: [{ name: 'web-1', roles: ['web'] }],
    phases: [{ id: 'up', steps: { 'web-1': [{ id: 'up/stop@web-1', stepId: 'stop' }] } }],
  }),
);
writeFileSync(
  join(dir, 'runbook.yml'),
  'name: c\nphases:\n  - id: upgrade\n    hosts: all\n    steps:\n      - { id: backup, shell.run: { command: "true" } }\n      - { id: extract, shell.run: { command: "true" } }\n',
);
writeFileSync(
  join(dir, 'inventory.yml'),
  'cluster: c\nhosts:\n  app-1: { address: 10.9.0.1, roles: [app] }\n',
);

async function candidates(...words: string[]): Promise<string[]> {
  const r = await cutover(['__complete', '--', ...words]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('shell completion', () => {
  it('completes commands, options and option values', async () => {
    expect(await candidates('re')).toEqual(['resume', 'report']);
    expect(await candidates('apply', '--on')).toEqual(['--only']);
    expect(await candidates('plan', '-r', '')).toEqual(['__files__']);
    expect(await candidates('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(await candidates('nope', 'deeper', '--x=')).toEqual([]);
  });

  it('completes run ids from the state folder, and step ids and hosts from the line or the latest run', async () => {
    expect(await candidates('--state-dir', state, 'resume', '')).toEqual([RUN]);
    expect(await candidates('--state-dir', state, 'resume', RUN, '--rerun', '')).toEqual(['up/stop@web-1']);
    const r = join(dir, 'runbook.yml');
    expect(await candidates('apply', '-r', r, '--only', 'backup', 'up')).toEqual([
      'upgrade/backup',
      'upgrade/extract',
      'upgrade/*',
    ]);
    expect(await candidates('--state-dir', state, 'plan', '--from', '')).toEqual(['up/stop', 'stop', 'up/*']);
    expect(await candidates('apply', '-i', join(dir, 'inventory.yml'), '--limit', '')).toEqual([
      'app-1',
      'app',
    ]);
    expect(await candidates('--state-dir', state, 'apply', '-l', 'w')).toEqual(['web-1', 'web']);
  });

  it('prints scripts that parse; the bash one completes through the entry point', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await cutover(['completion', shell]);
      expect(r.code, r.stderr).toBe(0);
      writeFileSync(join(dir, `cutover.${shell}`), r.stdout);
    }
    expect((await cutover(['completion', 'tcsh'])).code).toBe(2);
    const check = spawnSync('bash', ['-n', join(dir, 'cutover.bash')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    // A `cutover` on PATH, as an installed one would be; complete `cutover --state-dir S resume `.
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'cutover'),
      `#!/bin/sh\nexec "${process.execPath}" "${resolve(import.meta.dirname, '../../bin/cutover.js')}" "$@"\n`,
    );
    chmodSync(join(bin, 'cutover'), 0o755);
    const run = spawnSync(
      'bash',
      [
        '-c',
        `source ${join(dir, 'cutover.bash')}; COMP_WORDS=(cutover --state-dir ${state} res); COMP_CWORD=3; _cutover; printf '%s\\n' "\${COMPREPLY[@]}"; COMP_WORDS=(cutover --state-dir ${state} resume ''); COMP_CWORD=4; _cutover; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean)).toEqual(['resume', RUN]);
  });

  /** A `cutover` on PATH (the built CLI), as an installed one would be. */
  function binDir(): string {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'cutover'),
      `#!/bin/sh\nexec "${process.execPath}" "${resolve(import.meta.dirname, '../../bin/cutover.js')}" "$@"\n`,
    );
    chmodSync(join(bin, 'cutover'), 0o755);
    return bin;
  }

  /** What completing each line (TAB at its end) leaves in the buffer of an interactive zsh with compinit. */
  function zshComplete(script: string, lines: string[]): string[] {
    // zpty runs a real interactive zsh; a widget bound to ^X^P prints the buffer after the TAB, and
    // `zpty -r … PATTERN` waits for that print (no timing).
    const driver = [
      'zmodload zsh/zpty',
      'zpty z zsh -f -i',
      `zpty -w z 'PS1="> "; autoload -Uz compinit; compinit -u -D; source ${script}; PATH=${binDir()}:$PATH; cd ${dir}'`,
      `zpty -w z 'show() { print -r -- "BUF<$BUFFER>"; }; zle -N show; bindkey "^X^P" show; print READY'`,
      `zpty -r z out '*READY*'`,
      ...lines.flatMap((line) => [
        `zpty -w -n z $'${line}\\t\\C-x\\C-p'`,
        `zpty -r z out '*BUF<*>*'`,
        `print -r -- "\${\${out##*BUF<}%%>*}"`,
        `zpty -w -n z $'\\C-u'`,
      ]),
      'zpty -d z',
    ].join('\n');
    const run = spawnSync('zsh', ['-f', '-c', driver], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.split('\n').filter(Boolean);
  }

  it('zsh: the script parses, and TAB in a real interactive zsh completes commands, run ids, options, hosts and files', async () => {
    const script = join(dir, 'cutover.zsh');
    writeFileSync(script, (await cutover(['completion', 'zsh'])).stdout);
    const check = spawnSync('zsh', ['-n', script], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const inv = join(dir, 'inventory.yml');
    expect(
      zshComplete(script, [
        `cutover --state-dir ${state} res`,
        `cutover --state-dir ${state} resume `,
        'cutover apply --on',
        `cutover apply -i ${inv} --limit app-`,
        'cutover plan -r runb',
      ]),
    ).toEqual([
      `cutover --state-dir ${state} resume `,
      `cutover --state-dir ${state} resume ${RUN} `,
      'cutover apply --only ',
      `cutover apply -i ${inv} --limit app-1 `,
      'cutover plan -r runbook.yml ',
    ]);
  });

  it('fish: the script parses, and fish itself completes commands, run ids, options, hosts and files', async () => {
    const script = join(dir, 'cutover.fish');
    writeFileSync(script, (await cutover(['completion', 'fish'])).stdout);
    const check = spawnSync('fish', ['-n', script], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const complete = (line: string) => {
      const run = spawnSync('fish', ['-c', `source ${script}; complete -C ${JSON.stringify(line)}`], {
        encoding: 'utf8',
        cwd: dir,
        env: { ...process.env, PATH: `${binDir()}:${process.env.PATH}` },
      });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout.split('\n').filter(Boolean);
    };
    expect(complete(`cutover --state-dir ${state} res`)).toEqual(['resume']);
    expect(complete(`cutover --state-dir ${state} resume `)).toEqual([RUN]);
    expect(complete(`cutover --state-dir ${state} resume ${RUN} --rerun `)).toEqual(['up/stop@web-1']);
    expect(complete('cutover apply --on')).toEqual(['--only']);
    expect(complete(`cutover apply -i ${join(dir, 'inventory.yml')} --limit `)).toEqual(['app-1', 'app']);
    expect(complete('cutover plan -r runb')).toEqual(['runbook.yml']);
  });
});
