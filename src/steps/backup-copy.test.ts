import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TemplatedWord } from '../shell/word.js';
import { backupCopy } from './backup-copy.js';
import { raw } from '../shell/command.js';
import type { Action } from './kind.js';
import { runActionsForReal, runForReal, SHELLS, tempDir, testContext } from './test-support.js';
import { treeChecksum, treeChecksumOf } from './tree.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const dated = (prefix: string) => new TemplatedWord([prefix, { hostDate: '%Y%m%d' }]);
const execText = (a: Action | undefined) => (a?.type === 'exec' ? String(a.cmd) : '');

describe('backup.copy', () => {
  it('copies with cp -a into a recorded dest, verifies both trees and prints what the undo needs', () => {
    const planned = backupCopy.plan(
      backupCopy.params.parse({ src: '/home/ecsc/', dest: dated('/home/ecsc_') }),
      ctx,
    );
    expect(planned.actions).toHaveLength(1);
    expect(planned.actions[0]).toMatchObject({ type: 'exec', capture: { keyValues: true } });
    const text = execText(planned.actions[0]);
    expect(text.startsWith(`s=/home/ecsc\nb=/home/ecsc_"$(date +%Y%m%d)"\nd=${DIR}\n`)).toBe(true);
    expect(text).toContain(
      `printf '%s' "$b" > "$d/dest" &&\n  mkdir -p -- "$(dirname -- "$b")" &&\n  cp -a -- "$s" "$b" &&\n  cs=$( (\n`,
    );
    expect(text.endsWith(`\nprintf 'src=%s\\ndest=%s\\nchecksum=%s\\n' "$s" "$b" "$cs"`)).toBe(true);
    expect(text).toContain(`cb=$( ${String(treeChecksumOf(raw('"$b"'))).replace(/\n/g, '\n  ')} ) || exit 2`);
    const probe = String(planned.probe?.cmd);
    expect(probe).toContain(
      'if [ -e "$d/dest" ]; then\n  b=$(cat "$d/dest")\nfi\n[ -e "$b" ] || [ -L "$b" ] || exit 1\n',
    );
    expect(planned.probe?.description).toBe(
      `/home/ecsc_$(date +%Y%m%d) exists with the same tree checksum as /home/ecsc`,
    );
  });

  it('replaces an existing dest only with overwrite', () => {
    const plan = (overwrite: boolean) =>
      execText(
        backupCopy.plan(
          backupCopy.params.parse({ src: '/home/ecsc', dest: '/home/ecsc.bak', overwrite }),
          ctx,
        ).actions[0],
      );
    expect(plan(true)).toContain(
      '    else\n      rm -rf -- "$b" || exit 2\n    fi\n  else\n    rm -rf -- "$b" || exit 2\n  fi',
    );
    expect(plan(false)).toContain(
      `  else\n    printf 'backup.copy: %s already exists; a backup is never overwritten unless overwrite: true (or pick another dest)\\n' "$b" >&2\n    exit 1\n  fi`,
    );
  });

  it('keeps hostile paths one quoted word', () => {
    const [action] = backupCopy.plan(
      backupCopy.params.parse({ src: "/home/a b'; touch /tmp/pwned", dest: '/home/x' }),
      ctx,
    ).actions;
    expect(action?.type === 'exec' && action.cmd.render('exec')).toMatch(
      /^s='\/home\/a b'\\''; touch \/tmp\/pwned'\nb=\/home\/x\n/,
    );
  });

  it('restores from the recorded dest and checksum, and has no undo without them', () => {
    const p = backupCopy.params.parse({ src: '/home/ecsc', dest: dated('/home/ecsc_') });
    const undo = backupCopy.compensate!(
      p,
      { src: '/home/ecsc', dest: '/home/ecsc_20170324', checksum: 'c'.repeat(64) },
      ctx,
    );
    expect(undo).toHaveLength(1);
    const text = execText(undo[0]);
    expect(
      text.startsWith(
        `s=/home/ecsc\nb=/home/ecsc_20170324\nwant=${'c'.repeat(64)}\nt="$s.cutover-restore"\n`,
      ),
    ).toBe(true);
    expect(text).toContain('rm -rf -- "$s" &&\n  mv -T -- "$t" "$s" &&\n  got=$( (\n');
    expect(backupCopy.compensate!(p, { dest: '/home/ecsc_20170324' }, ctx)).toEqual([]);
    expect(backupCopy.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses /, .. and the same path twice', () => {
    expect(() => backupCopy.params.parse({ src: '/', dest: '/backup' })).toThrow(/not \//);
    expect(() => backupCopy.params.parse({ src: '/home/../etc', dest: '/backup' })).toThrow(/\.\./);
    expect(() => backupCopy.params.parse({ src: '/home/ecsc', dest: '/home/ecsc/' })).toThrow(/same path/);
  });
});

describe.each(SHELLS)('backup.copy under %s, for real', (shell) => {
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
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
    const run = runActionsForReal(planned.actions, shell);
    expect(run.last?.stderr).toBe('');
    expect(run.ok).toBe(true);
    expect(run.outputs.src).toBe(src);
    expect(run.outputs.dest).toMatch(new RegExp(`^${src}_\\d{8}$`));
    expect(run.outputs.checksum).toBe(original);
    const probed = runForReal(planned.probe!.cmd, {}, shell);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual(run.outputs);

    // The "upgrade": new and changed files, a removed one, a changed mode.
    writeFileSync(`${src}/index.html`, '<script src="app.js?v=20170324"></script>\n');
    writeFileSync(`${src}/new-feature.js`, 'added');
    mkdirSync(`${src}/added-dir`);
    rmSync(`${src}/WEB-INF/lib/ecsc.jar`);
    chmodSync(`${src}/startup.sh`, 0o700);
    expect(sum(src)).not.toBe(original);

    const undo = runActionsForReal(backupCopy.compensate!(p, run.outputs, c), shell);
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
    const run = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    rmSync(src, { recursive: true });
    expect(runActionsForReal(backupCopy.compensate!(p, run.outputs, c), shell).ok).toBe(true);
    expect(sum(src)).toBe(run.outputs.checksum);
  });

  it('refuses an existing dest, but redoes its own partial copy on a retry', () => {
    mkdirSync(`${src}.bak`);
    writeFileSync(`${src}.bak/older-backup`, 'keep me');
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const refused = runActionsForReal(
      backupCopy.plan(p, testContext({ runDir: `${t.path}/run1` })).actions,
      shell,
    );
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
    const retried = runActionsForReal(backupCopy.plan(fresh, c).actions, shell);
    expect(retried.ok).toBe(true);
    expect(existsSync(`${src}.new/partial`)).toBe(false);
    expect(retried.outputs.checksum).toBe(sum(src));
  });

  it('never overwrites a backup it finished: a re-run after the data changed is refused, one over the same data reuses it', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const first = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    expect(first.ok).toBe(true);
    const old = sum(`${src}.bak`);
    // The upgrade changed the data, then the step ran again (a resume, a re-run): the only copy of
    // the old data must survive.
    writeFileSync(`${src}/upgraded`, 'new version');
    const again = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    expect(again.ok).toBe(false);
    expect(again.last?.code).toBe(1);
    expect(again.last?.stderr).toContain('is the verified backup this step made earlier');
    expect(again.last?.stderr).toContain('a backup is never overwritten');
    expect(sum(`${src}.bak`)).toBe(old);
    // Put back (as the undo does): the same tree again, so the finished backup is used as it is.
    rmSync(`${src}/upgraded`);
    const reused = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    expect(reused.ok).toBe(true);
    expect(reused.outputs).toEqual(first.outputs);
    expect(sum(`${src}.bak`)).toBe(old);
  });

  it('leaves the folder alone when the backup no longer matches its checksum', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const run = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    writeFileSync(`${src}.bak/index.html`, 'tampered');
    writeFileSync(`${src}/upgraded`, 'new');
    const undo = runActionsForReal(backupCopy.compensate!(p, run.outputs, c), shell);
    expect(undo.ok).toBe(false);
    expect(undo.last?.stderr).toContain('not the recorded');
    expect(existsSync(`${src}/upgraded`)).toBe(true);
    expect(existsSync(`${src}.cutover-restore`)).toBe(false);
  });

  it('refuses a missing src with exit 2 and changes nothing', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src: `${t.path}/nope`, dest: `${t.path}/nope.bak` });
    const run = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    expect(run.last).toMatchObject({ code: 2, stdout: '' });
    expect(run.last?.stderr).toBe(`backup.copy: ${t.path}/nope does not exist; nothing to back up\n`);
    expect(existsSync(`${t.path}/nope.bak`)).toBe(false);
    expect(existsSync(`${t.path}/run`)).toBe(false);
  });

  it('with overwrite, replaces an older dest it did not write', () => {
    mkdirSync(`${src}.bak`);
    writeFileSync(`${src}.bak/older-backup`, 'old');
    const p = backupCopy.params.parse({ src, dest: `${src}.bak`, overwrite: true });
    const run = runActionsForReal(
      backupCopy.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.ok).toBe(true);
    expect(existsSync(`${src}.bak/older-backup`)).toBe(false);
    expect(sum(`${src}.bak`)).toBe(sum(src));
  });

  it('fails with exit 1 when the copy differs from the source (a cp that loses a file)', () => {
    const bin = `${t.path}/bin`;
    mkdirSync(bin);
    writeFileSync(`${bin}/cp`, `#!/bin/sh\n/bin/cp "$@" && rm -f -- "$4/index.html"\n`);
    chmodSync(`${bin}/cp`, 0o755);
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const [action] = backupCopy.plan(p, c).actions;
    if (action?.type !== 'exec') throw new Error('expected exec');
    const run = runForReal(action.cmd, { PATH: `${bin}:${process.env.PATH}` }, shell);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(
        `^backup\\.copy: the copy ${src}\\.bak \\(tree sha256 [0-9a-f]{64}\\) differs from ${src} \\([0-9a-f]{64}\\)\\n$`,
      ),
    );
  });

  it('probes: absent or different backup is not done; the recorded dest wins over a fresh evaluation', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: dated(`${src}_`) });
    const planned = backupCopy.plan(p, c);
    expect(runForReal(planned.probe!.cmd, {}, shell)).toMatchObject({ code: 1, stdout: '' });
    const run = runActionsForReal(planned.actions, shell);
    expect(run.ok).toBe(true);
    // The day moved on: the dest the step recorded is still the backup the probe checks.
    const moved = `${src}_19990101`;
    execFileSync('mv', ['-T', run.outputs.dest as string, moved]);
    writeFileSync(`${c.runDir}/upgrade_step_web/dest`, moved);
    const probed = runForReal(planned.probe!.cmd, {}, shell);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual({ ...run.outputs, dest: moved });
    writeFileSync(`${moved}/index.html`, 'changed');
    expect(runForReal(planned.probe!.cmd, {}, shell)).toMatchObject({ code: 1, stdout: '' });
  });

  it('the undo leaves the folder alone when the backup is gone', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const run = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    rmSync(`${src}.bak`, { recursive: true });
    writeFileSync(`${src}/upgraded`, 'new');
    const undo = runActionsForReal(backupCopy.compensate!(p, run.outputs, c), shell);
    expect(undo.ok).toBe(false);
    expect(undo.last).toMatchObject({ code: 1, stdout: '' });
    expect(undo.last?.stderr).toBe(
      `backup.copy undo: the backup ${src}.bak is gone; ${src} was left as it is\n`,
    );
    expect(existsSync(`${src}/upgraded`)).toBe(true);
  });

  it('the undo prints what it restored', () => {
    const c = testContext({ runDir: `${t.path}/run` });
    const p = backupCopy.params.parse({ src, dest: `${src}.bak` });
    const run = runActionsForReal(backupCopy.plan(p, c).actions, shell);
    expect(run.last?.stdout).toBe(`src=${src}\ndest=${src}.bak\nchecksum=${run.outputs.checksum}\n`);
    const undo = runActionsForReal(backupCopy.compensate!(p, run.outputs, c), shell);
    expect(undo.last?.stdout).toBe(`restored ${src} from ${src}.bak (tree sha256 ${run.outputs.checksum})\n`);
  });
});
