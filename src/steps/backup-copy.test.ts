import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TemplatedWord } from '../shell/word.js';
import { backupCopy } from './backup-copy.js';
import { commandsOf, runActionsForReal, runForReal, tempDir, testContext } from './test-support.js';
import { treeChecksum } from './tree.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
/** The tree checksum snippet for a shell variable (its exact text is pinned in tree.test.ts). */
const chk = (v: string) =>
  `(p="$${v}"; if [ ! -e "$p" ] && [ ! -L "$p" ]; then printf '%s: no such file or directory\\n' "$p" >&2; exit 2; fi; r=$( { { LC_ALL=C find "$p" -printf '%P//%y %m %l\\0' | LC_ALL=C sort -z; LC_ALL=C find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | cut -d ' ' -f 1; } | sha256sum | cut -c 1-64; } 2>&1 ); case $r in (*[!0-9a-f]*) n=0;; (*) n=\${#r};; esac; if [ "$n" != 64 ]; then printf 'cannot checksum %s: %s\\n' "$p" "$r" >&2; exit 2; fi; printf '%s\\n' "$r")`;
const dated = (prefix: string) => new TemplatedWord([prefix, { hostDate: '%Y%m%d' }]);

describe('backup.copy', () => {
  it('copies with cp -a, verifies both trees and records the resolved dest', () => {
    const planned = backupCopy.plan(
      backupCopy.params.parse({ src: '/home/ecsc/', dest: dated('/home/ecsc_') }),
      ctx,
    );
    expect(commandsOf(planned.actions)).toEqual([
      `s=/home/ecsc; b=/home/ecsc_"$(date +%Y%m%d)"; d=${DIR}; if [ ! -e "$s" ]; then printf 'backup.copy: %s does not exist; nothing to back up\\n' "$s" >&2; exit 2; fi; mkdir -p -- "$d" || exit 2; if [ -e "$b" ] || [ -L "$b" ]; then if [ "$(cat "$d/dest" 2>/dev/null)" = "$b" ]; then rm -rf -- "$b" || exit 2; else printf 'backup.copy: %s already exists; a backup is never overwritten unless overwrite: true (or pick another dest)\\n' "$b" >&2; exit 1; fi; fi; printf '%s' "$b" > "$d/dest" && mkdir -p -- "$(dirname -- "$b")" && cp -a -- "$s" "$b" && cs=$( ${chk('s')} ) && cb=$( ${chk('b')} ) || exit 2; if [ "$cs" != "$cb" ]; then printf 'backup.copy: the copy %s (tree sha256 %s) differs from %s (%s)\\n' "$b" "$cb" "$s" "$cs" >&2; exit 1; fi; printf 'src=%s\\ndest=%s\\nchecksum=%s\\n' "$s" "$b" "$cs"`,
    ]);
    expect(planned.actions[0]).toMatchObject({ capture: { keyValues: true } });
    expect(String(planned.probe?.cmd)).toBe(
      `s=/home/ecsc; b=/home/ecsc_"$(date +%Y%m%d)"; d=${DIR}; if [ -e "$d/dest" ]; then b=$(cat "$d/dest"); fi; [ -e "$b" ] || [ -L "$b" ] || exit 1; cs=$( ${chk('s')} ) || exit 2; cb=$( ${chk('b')} ) || exit 2; [ "$cs" = "$cb" ] || exit 1; printf 'src=%s\\ndest=%s\\nchecksum=%s\\n' "$s" "$b" "$cs"`,
    );
  });

  it('replaces an existing dest only with overwrite', () => {
    const [action] = backupCopy.plan(
      backupCopy.params.parse({ src: '/home/ecsc', dest: '/home/ecsc.bak', overwrite: true }),
      ctx,
    ).actions;
    expect(action?.type === 'exec' && String(action.cmd)).toContain(
      `if [ "$(cat "$d/dest" 2>/dev/null)" = "$b" ]; then rm -rf -- "$b" || exit 2; else rm -rf -- "$b" || exit 2; fi;`,
    );
  });

  it('keeps hostile paths one quoted word', () => {
    const [action] = backupCopy.plan(
      backupCopy.params.parse({ src: "/home/a b'; touch /tmp/pwned", dest: '/home/x' }),
      ctx,
    ).actions;
    expect(action?.type === 'exec' && action.cmd.render('exec')).toMatch(
      /^s='\/home\/a b'\\''; touch \/tmp\/pwned'; b=\/home\/x;/,
    );
  });

  it('restores the exact previous tree from the recorded dest and checksum', () => {
    const p = backupCopy.params.parse({ src: '/home/ecsc', dest: dated('/home/ecsc_') });
    const undo = backupCopy.compensate!(
      p,
      { src: '/home/ecsc', dest: '/home/ecsc_20170324', checksum: 'c'.repeat(64) },
      ctx,
    );
    expect(commandsOf(undo)).toEqual([
      `s=/home/ecsc; b=/home/ecsc_20170324; want=${'c'.repeat(64)}; t="$s.cutover-restore"; if [ ! -e "$b" ]; then printf 'backup.copy undo: the backup %s is gone; %s was left as it is\\n' "$b" "$s" >&2; exit 1; fi; rm -rf -- "$t" && cp -a -- "$b" "$t" && got=$( ${chk('t')} ) || exit 2; if [ "$got" != "$want" ]; then rm -rf -- "$t"; printf 'backup.copy undo: the backup %s has tree sha256 %s, not the recorded %s; %s was left as it is\\n' "$b" "$got" "$want" "$s" >&2; exit 1; fi; rm -rf -- "$s" && mv -T -- "$t" "$s" && got=$( ${chk('s')} ) || exit 2; if [ "$got" != "$want" ]; then printf 'backup.copy undo: %s has tree sha256 %s after the restore, expected %s\\n' "$s" "$got" "$want" >&2; exit 1; fi; printf 'restored %s from %s (tree sha256 %s)\\n' "$s" "$b" "$want"`,
    ]);
    expect(backupCopy.compensate!(p, { dest: '/home/ecsc_20170324' }, ctx)).toEqual([]);
    expect(backupCopy.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses /, .. and the same path twice', () => {
    expect(() => backupCopy.params.parse({ src: '/', dest: '/backup' })).toThrow(/not \//);
    expect(() => backupCopy.params.parse({ src: '/home/../etc', dest: '/backup' })).toThrow(/\.\./);
    expect(() => backupCopy.params.parse({ src: '/home/ecsc', dest: '/home/ecsc/' })).toThrow(/same path/);
  });
});

describe('backup.copy, for real', () => {
  let t: ReturnType<typeof tempDir>;
  let src: string;
  const sum = (path: string) => runForReal(treeChecksum(path)).stdout.trim();
  beforeEach(() => {
    t = tempDir();
    src = `${t.path}/home/ecsc`;
    mkdirSync(`${src}/WEB-INF/lib`, { recursive: true });
    writeFileSync(`${src}/index.html`, '<script src="app.js?v=20170301"></script>\n');
    writeFileSync(`${src}/WEB-INF/lib/ecsc.jar`, 'v1 bytes');
    writeFileSync(`${src}/startup.sh`, '#!/bin/sh\n');
    chmodSync(`${src}/startup.sh`, 0o755);
    symlinkSync('WEB-INF/lib/ecsc.jar', `${src}/current.jar`);
  });
  afterEach(() => t.remove());

  it('backs up to a dated folder, then the undo restores the exact tree after an "upgrade"', () => {
    const original = sum(src);
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: dated(`${src}_`) });
    const planned = backupCopy.plan(p, c);
    expect(runForReal(planned.probe!.cmd).code).toBe(1);
    const run = runActionsForReal(planned.actions);
    expect(run.last?.stderr).toBe('');
    expect(run.ok).toBe(true);
    expect(run.outputs.src).toBe(src);
    expect(run.outputs.dest).toMatch(new RegExp(`^${src}_\\d{8}$`));
    expect(run.outputs.checksum).toBe(original);
    const probed = runForReal(planned.probe!.cmd);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual(run.outputs);

    // The "upgrade": new and changed files, a removed one, a changed mode.
    writeFileSync(`${src}/index.html`, '<script src="app.js?v=20170324"></script>\n');
    writeFileSync(`${src}/new-feature.js`, 'added');
    mkdirSync(`${src}/added-dir`);
    rmSync(`${src}/WEB-INF/lib/ecsc.jar`);
    chmodSync(`${src}/startup.sh`, 0o700);
    expect(sum(src)).not.toBe(original);

    const undo = runActionsForReal(backupCopy.compensate!(p, run.outputs, c));
    expect(undo.last?.stderr).toBe('');
    expect(undo.ok).toBe(true);
    expect(sum(src)).toBe(original);
    expect(existsSync(`${src}/new-feature.js`)).toBe(false);
    expect(existsSync(`${src}/added-dir`)).toBe(false);
    expect(readFileSync(`${src}/WEB-INF/lib/ecsc.jar`, 'utf8')).toBe('v1 bytes');
    expect(existsSync(`${src}.cutover-restore`)).toBe(false);
    expect(sum(run.outputs.dest as string)).toBe(original); // the backup itself is kept
  });

  it('restores even when the failed step had removed the folder', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const run = runActionsForReal(backupCopy.plan(p, c).actions);
    rmSync(src, { recursive: true });
    expect(runActionsForReal(backupCopy.compensate!(p, run.outputs, c)).ok).toBe(true);
    expect(sum(src)).toBe(run.outputs.checksum);
  });

  it('refuses an existing dest, but redoes its own partial copy on a retry', () => {
    mkdirSync(`${src}.bak`);
    writeFileSync(`${src}.bak/older-backup`, 'keep me');
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const refused = runActionsForReal(backupCopy.plan(p, testContext({ runDir: `${t.path}/run1` })).actions);
    expect(refused.ok).toBe(false);
    expect(refused.last?.code).toBe(1);
    expect(refused.last?.stderr).toContain(
      'already exists; a backup is never overwritten unless overwrite: true',
    );
    expect(readFileSync(`${src}.bak/older-backup`, 'utf8')).toBe('keep me');

    const c = testContext({ runDir: `${t.path}/run2` });
    const fresh = backupCopy.params.parse({ src, dest: `${src}.new` });
    mkdirSync(`${t.path}/run2/upgrade_step_web`, { recursive: true });
    writeFileSync(`${t.path}/run2/upgrade_step_web/dest`, `${src}.new`);
    mkdirSync(`${src}.new`); // a partial copy left by an interrupted attempt of this step
    writeFileSync(`${src}.new/partial`, '');
    const retried = runActionsForReal(backupCopy.plan(fresh, c).actions);
    expect(retried.ok).toBe(true);
    expect(existsSync(`${src}.new/partial`)).toBe(false);
    expect(retried.outputs.checksum).toBe(sum(src));
  });

  it('leaves the folder alone when the backup no longer matches its checksum', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const run = runActionsForReal(backupCopy.plan(p, c).actions);
    writeFileSync(`${src}.bak/index.html`, 'tampered');
    writeFileSync(`${src}/upgraded`, 'new');
    const undo = runActionsForReal(backupCopy.compensate!(p, run.outputs, c));
    expect(undo.ok).toBe(false);
    expect(undo.last?.stderr).toContain('not the recorded');
    expect(existsSync(`${src}/upgraded`)).toBe(true);
    expect(existsSync(`${src}.cutover-restore`)).toBe(false);
  });
});
