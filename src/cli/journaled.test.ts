/**
 * Runs that stand on their own (the built CLI, local transport): rollback and resume work from the
 * journal alone after the runbook, inventory and uploaded file were edited or deleted; resume shows
 * what changed and continues only with --replan, keeping done steps and their undos as journaled.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover, journalEvents, runIdFrom } from '../../test/cli.js';

const SECRET = 'Journ4l-Secret-Value-31';
const env = { JOURNALED_TEST_TOKEN: SECRET };

const INVENTORY = `cluster: journaled-test
hosts:
  one: { address: 127.0.0.1, transport: local }
  two: { address: 127.0.0.1, transport: local }
`;

/** Upload a payload per host, a check that fails while `fail` exists (on host two only), then a marker. */
function runbook(dir: string, o: { dest?: string; check?: string; extra?: boolean } = {}): string {
  return [
    'name: journaled',
    'secrets:',
    '  token: { from: [ { env: JOURNALED_TEST_TOKEN } ] }',
    'phases:',
    '  - id: up',
    '    hosts: all',
    '    rolling: { serial: 1, failure_budget: 1 }',
    '    steps:',
    '      - id: upload',
    `        file.upload: { src: payload.txt, dest: "${dir}/{{ host.name }}/${o.dest ?? 'v1.txt'}" }`,
    '      - id: check',
    `        shell.run: { command: "${o.check ?? `test {{ host.name }} = one || test ! -e ${dir}/fail`}" }`,
    '      - id: mark',
    `        shell.run: { command: "echo {{ secrets.token }} >/dev/null; touch ${dir}/{{ host.name }}/marked", undo: "rm -f ${dir}/{{ host.name }}/marked" }`,
    ...(o.extra
      ? [
          '      - id: extra',
          `        shell.run: { command: "touch ${dir}/{{ host.name }}/extra", undo: "rm -f ${dir}/{{ host.name }}/extra" }`,
        ]
      : []),
    '',
  ].join('\n');
}

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-journaled-'));
  for (const h of ['one', 'two']) mkdirSync(join(dir, h));
  writeFileSync(join(dir, 'inventory.yml'), INVENTORY);
  writeFileSync(join(dir, 'payload.txt'), 'payload v1\n');
  writeFileSync(join(dir, 'runbook.yml'), runbook(dir));
  const state = join(dir, 'state');
  const run = (args: string[]) => cutover(['--state-dir', state, ...args], { env });
  const apply = () =>
    run(['apply', '-r', join(dir, 'runbook.yml'), '-i', join(dir, 'inventory.yml'), '--yes']);
  return { dir, state, run, apply };
}

describe('runs that stand on their own', () => {
  it('rollback (the latest run) works from the journal alone after runbook, inventory and upload are deleted', async () => {
    const ws = workspace();
    const applied = await ws.apply();
    expect(applied.code, applied.stderr).toBe(0);
    const id = runIdFrom(applied.stdout);
    expect(readFileSync(join(ws.dir, 'one', 'v1.txt'), 'utf8')).toBe('payload v1\n');
    // The journal holds the inputs, never the secret; the run folder holds the upload's copy.
    const started = journalEvents(ws.state, id)[0];
    expect(started?.type === 'run.started' && started.inputs?.runbook.text).toContain('file.upload');
    const journalText = readFileSync(join(ws.state, 'runs', id, 'events.jsonl'), 'utf8');
    expect(journalText).not.toContain(SECRET);
    const planRecord = readFileSync(join(ws.state, 'runs', id, 'plan.json'), 'utf8');
    expect(planRecord).toContain('<secret:token>');
    expect(planRecord).not.toContain(SECRET);
    for (const f of ['runbook.yml', 'inventory.yml', 'payload.txt']) rmSync(join(ws.dir, f));

    const rolled = await ws.run(['rollback', '--yes']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stderr).toContain(`run ${id} (the latest in`);
    expect(rolled.stderr).toMatch(/are gone; run \S+ goes on from its journal/);
    expect(existsSync(join(ws.dir, 'one', 'v1.txt'))).toBe(false);
    expect(existsSync(join(ws.dir, 'two', 'marked'))).toBe(false);
    expect(rolled.stdout + rolled.stderr).not.toContain(SECRET);
  });

  it('resume after an edit shows the changes per host and goes on only with --replan; done steps keep their journaled undo', async () => {
    const ws = workspace();
    writeFileSync(join(ws.dir, 'fail'), '');
    const applied = await ws.apply();
    expect(applied.code, applied.stderr).toBe(1); // two failed its check; one is done
    const id = runIdFrom(applied.stdout);
    expect(existsSync(join(ws.dir, 'one', 'v1.txt'))).toBe(true);

    // The operator fixes the check, renames the upload, adds a step and edits the payload.
    writeFileSync(
      join(ws.dir, 'runbook.yml'),
      runbook(ws.dir, { dest: 'v2.txt', check: 'true', extra: true }),
    );
    writeFileSync(join(ws.dir, 'payload.txt'), 'payload v2\n');

    const refused = await ws.run(['resume', id]);
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toContain('the runbook/inventory changed since run');
    expect(refused.stderr).toMatch(
      /one: ~ upload \(params dest, content of \S+payload.txt\) \(done: kept as journaled/,
    );
    expect(refused.stderr).toMatch(
      /two: ~ upload \(params dest, content of \S+payload.txt\); ~ check \(params command\); \+ extra/,
    );
    expect(refused.stderr).toContain('--replan');
    expect(journalEvents(ws.state, id).some((e) => e.type === 'run.resumed')).toBe(false);

    // two's check failed after it began: the operator says to run it again (as the new version).
    const resumed = await ws.run(['resume', id, '--replan', '--rerun', 'up/check@two']);
    expect(resumed.code, resumed.stderr).toBe(0);
    // one: its done upload stays as journaled (v1), the new step runs; two: everything as edited.
    expect(readFileSync(join(ws.dir, 'one', 'v1.txt'), 'utf8')).toBe('payload v1\n');
    expect(existsSync(join(ws.dir, 'one', 'v2.txt'))).toBe(false);
    expect(existsSync(join(ws.dir, 'one', 'extra'))).toBe(true);
    expect(readFileSync(join(ws.dir, 'two', 'v2.txt'), 'utf8')).toBe('payload v2\n');
    expect(existsSync(join(ws.dir, 'two', 'extra'))).toBe(true);
    const replanned = journalEvents(ws.state, id).find((e) => e.type === 'run.replanned');
    expect(replanned?.type === 'run.replanned' && replanned.kept).toContain('up/upload@one');

    // Edited again and deleted: the rollback undoes each step as it ran, from the journal.
    for (const f of ['runbook.yml', 'payload.txt']) rmSync(join(ws.dir, f));
    const status = await ws.run(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`run ${id}: succeeded`);
    const rolled = await ws.run(['rollback', id, '--yes']);
    expect(rolled.code, rolled.stderr).toBe(0);
    for (const f of ['one/v1.txt', 'one/extra', 'one/marked', 'two/v2.txt', 'two/extra', 'two/marked'])
      expect(existsSync(join(ws.dir, f)), f).toBe(false);
  });

  it('a journal written before inputs were kept still resumes from the files it names', async () => {
    const ws = workspace();
    const applied = await ws.apply();
    expect(applied.code, applied.stderr).toBe(0);
    const id = runIdFrom(applied.stdout);
    const file = join(ws.state, 'runs', id, 'events.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n');
    const first = JSON.parse(lines[0] as string);
    delete first.inputs;
    writeFileSync(file, [JSON.stringify(first), ...lines.slice(1)].join('\n'));
    rmSync(join(ws.state, 'runs', id, 'files'), { recursive: true });

    const rolled = await ws.run(['rollback', id, '--yes']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(existsSync(join(ws.dir, 'one', 'v1.txt'))).toBe(false);

    writeFileSync(join(ws.dir, 'runbook.yml'), runbook(ws.dir, { extra: true }));
    const replan = await ws.run(['resume', id, '--replan']);
    expect(replan.code).toBe(5);
    expect(replan.stderr).toContain('journaled before cutover kept the runbook');
  });
});
