/** Habits operators bring (the built CLI): -p @file merged in order, --json validate on stdout, --limit. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover } from '../../test/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-habits-'));
const inventory = join(dir, 'inventory.yml');
writeFileSync(
  inventory,
  'cluster: habits\nhosts:\n  web-1: { address: 10.9.0.1, roles: [web] }\n  web-2: { address: 10.9.0.2, roles: [web] }\n  db-1: { address: 10.9.0.3, roles: [db] }\n',
);
const runbook = join(dir, 'runbook.yml');
writeFileSync(
  runbook,
  [
    'name: habits',
    'params:',
    '  version: { required: true }',
    '  color: { default: blue }',
    'phases:',
    '  - id: up',
    '    hosts: all',
    '    steps:',
    '      - { id: say, shell.run: { command: "echo {{ params.version }} {{ params.color }}" } }',
    '',
  ].join('\n'),
);

describe('operator habits', () => {
  it('-p @file and -p k=v merge in order, a later value winning', async () => {
    writeFileSync(join(dir, 'params.yml'), 'version: 1.0\ncolor: red\n');
    const r = await cutover([
      'plan',
      '-r',
      runbook,
      '-i',
      inventory,
      '-p',
      `@${join(dir, 'params.yml')}`,
      '-p',
      'version=2.0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('params: version=2.0, color=red');
    const bad = await cutover(['plan', '-r', runbook, '-i', inventory, '-p', `@${join(dir, 'missing.yml')}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot read');
  });

  it('--limit keeps names, roles and globs, leaves out !exclusions, refuses a pattern naming nothing', async () => {
    const r = await cutover([
      'plan',
      '-r',
      runbook,
      '-i',
      inventory,
      '-p',
      'version=1',
      '--limit',
      'web*,!web-2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('order: web-1\n');
    const typo = await cutover(['plan', '-r', runbook, '-i', inventory, '-p', 'version=1', '--limit', 'wbe']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('"wbe" names no host or role');
  });

  it('--json validate prints every problem as JSON on stdout', async () => {
    const broken = join(dir, 'broken.yml');
    writeFileSync(
      broken,
      'name: b\nphases:\n  - name: p\n    hosts: all\n    steps:\n      - sevice.stop: { unit: a }\n',
    );
    const r = await cutover(['--json', 'validate', '-r', broken]);
    expect(r.code).toBe(2);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ line: 6, col: 9, severity: 'error' });
    expect(lines.at(-1)).toMatchObject({ valid: false, exitCode: 2 });
  });
});
