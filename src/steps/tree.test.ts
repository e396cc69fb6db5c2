import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runForReal, SHELLS, tempDir } from './test-support.js';
import { treeChecksum } from './tree.js';

describe('treeChecksum', () => {
  it('is one subshell over names, types, modes, link targets and contents', () => {
    const text = String(treeChecksum("/home/a b'; touch /tmp/pwned"));
    expect(text.split('\n')[0]).toBe('(');
    expect(text.split('\n').slice(-1)).toEqual([')']);
    expect(text).toContain(`\n  p='/home/a b'\\''; touch /tmp/pwned'\n`);
    expect(text).toContain(
      `r=$( { { LC_ALL=C find "$p" -printf '%P//%y %m %l\\0' | LC_ALL=C sort -z; LC_ALL=C find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | cut -d ' ' -f 1; } | sha256sum | cut -c 1-64; } 2>&1 )`,
    );
    expect(text).toContain(`case $r in (*[!0-9a-f]*) n=0;; (*) n=\${#r};; esac`);
  });
});

describe.each(SHELLS)('treeChecksum under %s', (shell) => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.remove());

  it('gives the sum pinned for a known tree (the algorithm, not the script text, is what backups rely on)', () => {
    const a = `${t.path}/app`;
    mkdirSync(`${a}/conf`, { recursive: true });
    mkdirSync(`${a}/empty`);
    writeFileSync(`${a}/conf/app.yml`, 'port: 8080\n');
    writeFileSync(`${a}/run.sh`, '#!/bin/sh\n');
    writeFileSync(`${a}/odd\nname`, 'x');
    for (const [path, mode] of [
      ['conf/app.yml', 0o644],
      ['run.sh', 0o755],
      ['odd\nname', 0o600],
      ['conf', 0o755],
      ['empty', 0o700],
      ['', 0o755],
    ] as const)
      chmodSync(`${a}/${path}`, mode);
    symlinkSync('conf/app.yml', `${a}/current`);
    const run = runForReal(treeChecksum(a), {}, shell);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe('935c08821c82924d1e062b1ba0b7e23b8d3c9ebf87ab565bd110c230cac70d2f\n');
  });

  it('keeps a hostile path one word: nothing runs, the path is reported missing', () => {
    const run = runForReal(treeChecksum(`${t.path}/a b'; touch ${t.path}/pwned; '`), {}, shell);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${t.path}/a b'; touch ${t.path}/pwned; ': no such file or directory`);
    expect(existsSync(`${t.path}/pwned`)).toBe(false);
  });
});

describe('treeChecksum, for real', () => {
  let t: ReturnType<typeof tempDir>;
  const sum = (path: string) => {
    const run = runForReal(treeChecksum(path));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    return run.stdout.trim();
  };
  beforeEach(() => {
    t = tempDir();
    const a = `${t.path}/a`;
    mkdirSync(`${a}/conf`, { recursive: true });
    writeFileSync(`${a}/conf/app.yml`, 'port: 8080\n');
    writeFileSync(`${a}/run.sh`, '#!/bin/sh\n');
    chmodSync(`${a}/run.sh`, 0o755);
    writeFileSync(`${a}/odd\nname`, 'x');
    symlinkSync('conf/app.yml', `${a}/current`);
    execFileSync('cp', ['-a', a, `${t.path}/b`]);
  });
  afterEach(() => t.remove());

  it('gives equal sums for a cp -a copy, whatever the location', () => {
    expect(sum(`${t.path}/b`)).toBe(sum(`${t.path}/a`));
  });

  it('changes with a file content', () => {
    const before = sum(`${t.path}/b`);
    writeFileSync(`${t.path}/b/conf/app.yml`, 'port: 8081\n');
    expect(sum(`${t.path}/b`)).not.toBe(before);
  });

  it('changes with a mode', () => {
    const before = sum(`${t.path}/b`);
    chmodSync(`${t.path}/b/run.sh`, 0o750);
    expect(sum(`${t.path}/b`)).not.toBe(before);
  });

  it('changes with a symlink target', () => {
    const before = sum(`${t.path}/b`);
    rmSync(`${t.path}/b/current`);
    symlinkSync('conf/other.yml', `${t.path}/b/current`);
    expect(sum(`${t.path}/b`)).not.toBe(before);
  });

  it('changes with a name, an added empty folder, or swapped contents', () => {
    const before = sum(`${t.path}/b`);
    renameSync(`${t.path}/b/run.sh`, `${t.path}/b/run2.sh`);
    const renamed = sum(`${t.path}/b`);
    expect(renamed).not.toBe(before);
    mkdirSync(`${t.path}/b/empty`);
    expect(sum(`${t.path}/b`)).not.toBe(renamed);
    writeFileSync(`${t.path}/c1`, 'one');
    writeFileSync(`${t.path}/c2`, 'two');
    mkdirSync(`${t.path}/s1`);
    mkdirSync(`${t.path}/s2`);
    writeFileSync(`${t.path}/s1/x`, 'one');
    writeFileSync(`${t.path}/s1/y`, 'two');
    writeFileSync(`${t.path}/s2/x`, 'two');
    writeFileSync(`${t.path}/s2/y`, 'one');
    expect(sum(`${t.path}/s1`)).not.toBe(sum(`${t.path}/s2`));
  });

  it('works on a single file and fails on a missing path', () => {
    expect(sum(`${t.path}/a/conf/app.yml`)).toBe(sum(`${t.path}/b/conf/app.yml`));
    const missing = runForReal(treeChecksum(`${t.path}/nope`));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope: no such file or directory');
  });

  it.runIf(process.getuid?.() === 0)('fails instead of hashing what it could not read', () => {
    mkdirSync(`${t.path}/b/locked`);
    writeFileSync(`${t.path}/b/locked/secret`, 'x');
    chmodSync(`${t.path}/b/locked`, 0o000);
    chmodSync(t.path, 0o755);
    // Root reads everything, so run it as nobody, who cannot enter the locked folder.
    const res = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'sh',
        '-c',
        treeChecksum(`${t.path}/b`).render('exec'),
      ],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    chmodSync(`${t.path}/b/locked`, 0o755);
    expect(res.stderr).toMatch(/cannot checksum .*Permission denied/);
    expect(res.stdout).toBe('');
    expect(res.status).toBe(2);
  });
});
