import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runForReal, tempDir } from './test-support.js';
import { treeChecksum } from './tree.js';

describe('treeChecksum', () => {
  it('is one subshell over names, types, modes, link targets and contents', () => {
    expect(String(treeChecksum("/home/a b'; touch /tmp/pwned"))).toBe(
      `(p='/home/a b'\\''; touch /tmp/pwned'; if [ ! -e "$p" ] && [ ! -L "$p" ]; then printf '%s: no such file or directory\\n' "$p" >&2; exit 2; fi; r=$( { { LC_ALL=C find "$p" -printf '%P//%y %m %l\\0' | LC_ALL=C sort -z; LC_ALL=C find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | cut -d ' ' -f 1; } | sha256sum | cut -c 1-64; } 2>&1 ); case $r in (*[!0-9a-f]*) n=0;; (*) n=\${#r};; esac; if [ "$n" != 64 ]; then printf 'cannot checksum %s: %s\\n' "$p" "$r" >&2; exit 2; fi; printf '%s\\n' "$r")`,
    );
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
