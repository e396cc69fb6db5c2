/** `--only` / `--from` through the built CLI, local transport: plan previews, apply runs only those steps, refusals exit 2, resume and rollback rebuild the selection from the journal. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover, journalEvents, runIdFrom } from '../../test/cli.js';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-select-cli-'));
  mkdirSync(join(dir, 'home', 'app'), { recursive: true });
  writeFileSync(join(dir, 'home', 'app', 'v'), '1\n');
  writeFileSync(
    join(dir, 'inventory.yml'),
    'cluster: select-test\nhosts:\n  one: { address: 127.0.0.1, transport: local }\n',
  );
  const touch = (name: string) =>
    `        shell.run: { command: "touch ${dir}/${name}", undo: "rm -f ${dir}/${name}" }`;
  writeFileSync(
    join(dir, 'runbook.yml'),
    [
      'name: select',
      'phases:',
      '  - id: prepare',
      '    hosts: all',
      '    steps:',
      '      - id: first',
      touch('first'),
      '  - id: upgrade',
      '    hosts: all',
      '    steps:',
      '      - id: backup',
      `        backup.copy: { src: ${dir}/home/app, dest: ${dir}/home/app_old }`,
      '      - id: change',
      `        shell.run: { command: "echo 2 > ${dir}/home/app/v" }`,
      '      - id: last',
      touch('last'),
      '',
    ].join('\n'),
  );
  const state = join(dir, 'state');
  const run = (args: string[]) => cutover(['--state-dir', state, ...args]);
  const files = ['-r', join(dir, 'runbook.yml'), '-i', join(dir, 'inventory.yml')];
  return { dir, state, run, files };
}

describe('--only / --from', () => {
  it('plan previews the selection; apply runs only it; rollback undoes it from the journal', async () => {
    const ws = workspace();
    const plan = await ws.run(['plan', ...ws.files, '--from', 'upgrade/backup']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('steps: --from upgrade/backup');
    expect(plan.stdout).not.toContain('first');

    const applied = await ws.run(['apply', ...ws.files, '--from', 'backup', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    const id = runIdFrom(applied.stdout);
    expect(existsSync(join(ws.dir, 'first'))).toBe(false);
    expect(existsSync(join(ws.dir, 'last'))).toBe(true);
    const started = journalEvents(ws.state, id)[0];
    expect(started?.type === 'run.started' && started.inputs?.from).toBe('backup');

    // Resume and rollback rebuild the same plan from the journal (the selection with it).
    const resumed = await ws.run(['resume', id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const rolled = await ws.run(['rollback', id, '--yes']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(existsSync(join(ws.dir, 'last'))).toBe(false);
    expect(readFileSync(join(ws.dir, 'home', 'app', 'v'), 'utf8')).toBe('1\n');
  });

  it('refuses, exit 2 and nothing run, a step whose undo is a backup left out; an unknown step names the steps', async () => {
    const ws = workspace();
    const refused = await ws.run(['apply', ...ws.files, '--only', 'change', 'last', '--yes']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /upgrade\/change: has no undo of its own: backup\.copy backup .* --only change, last leaves that backup out \(on one\)/,
    );
    expect(refused.stderr).toContain('nothing was changed on any host');
    expect(existsSync(join(ws.dir, 'last'))).toBe(false);
    const unknown = await ws.run(['plan', ...ws.files, '--only', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'Steps of select: prepare/first, upgrade/backup, upgrade/change, upgrade/last',
    );
  });
});
