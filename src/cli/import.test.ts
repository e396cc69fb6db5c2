/**
 * `cutover import` as an operator runs it: the real CLI (dist/, built by the global setup) on
 * the seeds, its draft checked by `cutover validate`, the report, and the refusals.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover } from '../../test/cli.js';

const SEED_004 = resolve(import.meta.dirname, '../../examples/seeds/004_f4a6607741ac3393.txt');
const SEED_000 = resolve(import.meta.dirname, '../../examples/seeds/000_242cadced4fd0863.txt');

const INVENTORY = `cluster: ecsc
hosts:
${['ecsc', 'ecmc', 'schedule', 'schedule-res']
  .flatMap((svc, i) => [1, 2].map((n) => `  ${svc}-${n}: { address: 10.0.${i}.${n} }`))
  .join('\n')}
`;

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'cutover-import-cli-'));
}

describe('cutover import', () => {
  it('writes a draft that `cutover validate` accepts with its TODOs as warnings, and that compiles with an inventory', async () => {
    const dir = workspace();
    const out = join(dir, 'runbook.yml');
    const res = await cutover(['import', SEED_004, '-o', out]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /runbook\.yml: 5 phases, 27 steps from 32 commands: 24 recognised, 4 not recognised, 4 need no step; 19 TODOs to review\. Review them: cutover validate -r /,
    );
    expect(readFileSync(out, 'utf8')).toMatch(
      /^# Draft runbook imported by `cutover import` from 004_f4a6607741ac3393\.txt\./,
    );

    const validate = await cutover(['validate', '-r', out]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('valid (5 phases, 27 steps)');
    expect(validate.stderr.match(/\(warning\)$/gm)).toHaveLength(19);
    expect(validate.stderr).toMatch(
      /runbook\.yml:\d+:\d+: phases\/0\/steps\/1\/todo: TODO: `grep java` \(line 16\)/,
    );

    // With an inventory the plan compiles; the uploads need the archives next to the runbook, as their TODO says.
    writeFileSync(join(dir, 'inventory.yml'), INVENTORY);
    const withoutArchives = await cutover(['validate', '-r', out, '-i', join(dir, 'inventory.yml')]);
    expect(withoutArchives.code).toBe(2);
    expect(withoutArchives.stderr).toMatch(
      /runbook\.yml:\d+:\d+: 2-1-ecsc\/upload-ecsc-tar: cannot read .*ecsc\.tar on the controller/,
    );
    for (const svc of ['ecsc', 'ecmc', 'schedule', 'schedule-res'])
      writeFileSync(join(dir, `${svc}.tar`), svc);
    const compiled = await cutover(['validate', '-r', out, '-i', join(dir, 'inventory.yml')]);
    expect(compiled.code).toBe(0);
    expect(compiled.stdout).toMatch(/valid; plan [0-9a-f]{12} has 60 steps on 8 hosts/);
  });

  it('prints the draft without -o, and the report with --report (text or --json)', async () => {
    const draft = await cutover(['import', SEED_000]);
    expect(draft.code).toBe(0);
    expect(draft.stdout).toContain('source: 000_242cadced4fd0863.txt:59');
    expect(draft.stderr).toMatch(/^000_242cadced4fd0863\.txt: 7 phases, 28 steps from 17 commands/);

    const report = await cutover(['import', SEED_004, '--report']);
    expect(report.code).toBe(0);
    expect(report.stdout).not.toContain('phases:');
    expect(report.stdout).toContain('Recognised: 24');
    expect(report.stdout).toMatch(
      /004_f4a6607741ac3393\.txt:17 {2}kill -9 <PID>\n {6}-> 2-1-ecsc\/stop-java \(process\.stop\): `ps \| grep java` \+ kill <PID>: process\.stop with signal KILL/,
    );
    expect(report.stdout).toMatch(
      /Not recognised \(shell\.run or a stub, each with a TODO saying why\): 4\n {2}004_f4a6607741ac3393\.txt:37 {2}tail -f \/home\/ecsclog\/ecsc\.log/,
    );
    expect(report.stdout).toMatch(
      /No step needed .*: 4\n {2}004_f4a6607741ac3393\.txt:147 {2}cp -R \/home\/ecsc_20170324 \/home\/ecsc\n {6}-> no step: restores the backup of step 2-1-ecsc\/backup-ecsc/,
    );
    expect(report.stdout).toMatch(/From the text: \d+\n/);
    expect(report.stdout).toContain('-> phase 2-1-ecsc also runs on ecsc-2');

    const json = await cutover(['--json', 'import', SEED_004, '--report']);
    const parsed = JSON.parse(json.stdout) as {
      summary: { commands: number; recognised: number };
      commands: { line: number; group: string }[];
    };
    expect(parsed.summary).toMatchObject({ commands: 32, recognised: 24 });
    expect(parsed.commands.find((c) => c.line === 147)?.group).toBe('no step needed');
  });

  it('never writes a password the document holds, anywhere', async () => {
    const dir = workspace();
    const doc = join(dir, 'deploy.md');
    writeFileSync(
      doc,
      [
        '# Deploy',
        '',
        '## 1. Fetch on `app-1`',
        '',
        '```sh',
        'curl -u deploy:hunter2xyz -o /opt/app.tgz https://files.example.com/app.tgz',
        'mysql -u root --password=hunter2xyz -e "select 1"',
        'tar -xzf /opt/app.tgz -C /opt',
        '```',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'runbook.yml');
    const results = [
      await cutover(['import', doc, '-o', out]),
      await cutover(['import', doc]),
      await cutover(['import', doc, '--report']),
      await cutover(['--json', 'import', doc, '--report']),
    ];
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('hunter2xyz');
    }
    const draft = readFileSync(out, 'utf8');
    expect(draft).not.toContain('hunter2xyz');
    expect(draft).toContain('password: "{{ secrets.files_password }}"');
    expect(draft).toContain('curl -u deploy:*** -o /opt/app.tgz');
    expect((await cutover(['validate', '-r', out])).code).toBe(0);
  });

  it('refuses a document with more code than a draft may hold, at once and at its line (exit 2, never 70)', async () => {
    const dir = workspace();
    const doc = join(dir, 'huge.md');
    const code = Array.from({ length: 2000 }, (_, i) => `cp /a/${i} /b/${i}`);
    writeFileSync(doc, ['# Huge', '', '```', ...code, '```', ''].join('\n'));
    const res = await cutover(['import', doc]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${doc}:804:1: more than 800 lines of code in fenced blocks`);
    expect(res.stderr).toContain('Split the document');
  });

  it('refuses to replace a file without --force, a missing document, and a document without commands (exit 2)', async () => {
    const dir = workspace();
    const out = join(dir, 'runbook.yml');
    writeFileSync(out, 'mine\n');
    const refused = await cutover(['import', SEED_004, '-o', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `cutover: ${out} exists; the draft would replace it\nChoose another -o file, or pass --force`,
    );
    expect(readFileSync(out, 'utf8')).toBe('mine\n');
    expect((await cutover(['import', SEED_004, '-o', out, '--force'])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('phases:');

    const missing = await cutover(['import', join(dir, 'nope.md')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.md:1:1: cannot read the document: no such file/);

    const prose = join(dir, 'prose.md');
    writeFileSync(prose, '# Upgrade\n\nAsk Bob to do it.\n');
    const empty = await cutover(['import', prose]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/prose\.md:1:1: no shell command found in fenced or indented code blocks/);
  });
});
