/** -v, -vv, -vvv mean something (the built CLI, local transport): -vv traces every command with its exit code and output on stderr, secrets redacted. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover } from '../../test/cli.js';

const SECRET = 'Verb0se-Secret-77';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-verbosity-'));
  writeFileSync(
    join(dir, 'inventory.yml'),
    'cluster: verbosity-test\nhosts:\n  one: { address: 127.0.0.1, transport: local }\n',
  );
  writeFileSync(
    join(dir, 'runbook.yml'),
    [
      'name: verbosity',
      'secrets:',
      '  token: { from: [ { env: VERBOSITY_TOKEN } ] }',
      'phases:',
      '  - id: up',
      '    hosts: all',
      '    steps:',
      '      - id: mark',
      `        shell.run: { command: "echo {{ secrets.token }}; touch ${dir}/marked", creates: ${dir}/marked }`,
      '',
    ].join('\n'),
  );
  const run = (args: string[]) =>
    cutover(
      [
        '--state-dir',
        join(dir, 'state'),
        ...args,
        '-r',
        join(dir, 'runbook.yml'),
        '-i',
        join(dir, 'inventory.yml'),
      ],
      { env: { VERBOSITY_TOKEN: SECRET } },
    );
  return { dir, run };
}

describe('verbosity', () => {
  it('-v prints commands in full and traces nothing; -vv traces every command (probes too) on stderr, redacted', async () => {
    const ws = workspace();
    const v = await ws.run(['-v', 'apply', '--yes']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).not.toContain('trace one:');

    // Applied again: the probe (creates) says it is done; -vv shows that probe and what it answered.
    const vv = await ws.run(['-vv', 'plan', '--probe']);
    expect(vv.code, vv.stderr).toBe(0);
    expect(vv.stderr).toMatch(/trace one: \$ .*test -e .*marked/);
    expect(vv.stderr).toMatch(/trace one: exit 0 in \d+ ms/);
    const applied = await ws.run(['-vv', 'apply', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain('trace one: $ ');
    for (const r of [v, vv, applied]) expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('-vvv is accepted on a run without ssh hosts (OpenSSH -v applies to ssh hosts only)', async () => {
    const ws = workspace();
    const r = await ws.run(['-vvv', 'plan']);
    expect(r.code, r.stderr).toBe(0);
  });
});
