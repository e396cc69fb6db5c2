import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fileRemove } from './file-remove.js';
import type { Action } from './kind.js';
import { runActionsForReal, runForReal, SHELLS, tempDir, testContext } from './test-support.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const LOCK = '/var/lib/comindware/cmw/Database/hold.lock';

const execText = (a: Action | undefined) => (a?.type === 'exec' ? String(a.cmd) : '');

describe('file.remove', () => {
  it('moves the file into the run folder and records where', () => {
    const planned = fileRemove.plan(fileRemove.params.parse({ path: LOCK }), ctx);
    expect(planned.actions).toHaveLength(1);
    expect(planned.actions[0]).toMatchObject({ type: 'exec', capture: { keyValues: true } });
    const text = execText(planned.actions[0]);
    expect(text.startsWith(`p=${LOCK}\nd=${DIR}\nif [ -e "$p" ] || [ -L "$p" ]; then\n`)).toBe(true);
    expect(text).toContain(`\n  mkdir -p -- "$d" && mv -T -- "$p" "$d/kept" || exit 2\n`);
    expect(text.endsWith(`\nfi\nprintf 'path=%s\\nkept=%s\\n' "$p" "$d/kept"`)).toBe(true);
    expect(String(planned.probe?.cmd)).toBe(
      [
        `p=${LOCK}`,
        `d=${DIR}`,
        'if [ -e "$d/kept" ] || [ -L "$d/kept" ]; then',
        `  printf 'path=%s\\nkept=%s\\n' "$p" "$d/kept"`,
        'fi',
        'if [ -e "$p" ] || [ -L "$p" ]; then',
        '  exit 1',
        'fi',
      ].join('\n'),
    );
  });

  it('deletes files only when keep is false, and has no undo then', () => {
    const p = fileRemove.params.parse({ path: "/tmp/a b'; touch /tmp/pwned", keep: false });
    const planned = fileRemove.plan(p, ctx);
    expect(planned.actions).toHaveLength(1);
    const [action] = planned.actions;
    expect(action?.type === 'exec' && action.cmd.render('exec')).toMatch(
      /^p='\/tmp\/a b'\\''; touch \/tmp\/pwned'\nif \[ -d "\$p" \] && \[ ! -L "\$p" \]; then\n[\s\S]*\nrm -f -- "\$p"$/,
    );
    expect(fileRemove.compensate!(p, { kept: '/x' }, ctx)).toEqual([]);
  });

  it('moves the kept file back, or does nothing when nothing was kept', () => {
    const p = fileRemove.params.parse({ path: LOCK });
    const undo = fileRemove.compensate!(p, { path: LOCK, kept: `${DIR}/kept` }, ctx);
    expect(undo).toHaveLength(1);
    const text = execText(undo[0]);
    expect(text.startsWith(`p=${LOCK}\nk=${DIR}/kept\n`)).toBe(true);
    expect(text.endsWith('\nmv -f -T -- "$k" "$p"')).toBe(true);
    expect(fileRemove.compensate!(p, { path: LOCK }, ctx)).toEqual([]);
    expect(fileRemove.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses / and relative paths', () => {
    expect(() => fileRemove.params.parse({ path: '/' })).toThrow(/not \//);
    expect(() => fileRemove.params.parse({ path: 'hold.lock' })).toThrow(/absolute/);
  });
});

describe.each(SHELLS)('file.remove under %s, for real', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());

  it('removes, and the undo puts the file back byte-identical with its mode', () => {
    t = tempDir();
    const lock = `${t.path}/Database/hold.lock`;
    mkdirSync(`${t.path}/Database`);
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 0x27]);
    writeFileSync(lock, bytes);
    chmodSync(lock, 0o600);
    const c = testContext({ runDir: `${t.path}/run` });
    const p = fileRemove.params.parse({ path: lock });
    const planned = fileRemove.plan(p, c);
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
    const run = runActionsForReal(planned.actions, shell);
    expect(run.ok).toBe(true);
    expect(run.outputs).toEqual({ path: lock, kept: `${t.path}/run/upgrade_step_web/kept` });
    expect(existsSync(lock)).toBe(false);
    const probed = runForReal(planned.probe!.cmd, {}, shell);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual(run.outputs);
    // A retry after the move still reports where the file went.
    expect(runActionsForReal(planned.actions, shell).outputs).toEqual(run.outputs);

    expect(runActionsForReal(fileRemove.compensate!(p, run.outputs, c), shell).ok).toBe(true);
    expect(readFileSync(lock).equals(bytes)).toBe(true);
    expect(statSync(lock).mode & 0o777).toBe(0o600);
  });

  it('treats an absent path as nothing to do, with nothing to undo', () => {
    t = tempDir();
    const p = fileRemove.params.parse({ path: `${t.path}/absent` });
    const run = runActionsForReal(
      fileRemove.plan(p, testContext({ runDir: `${t.path}/run` })).actions,
      shell,
    );
    expect(run.ok).toBe(true);
    expect(run.last?.stderr).toContain('nothing to do');
    expect(fileRemove.compensate!(p, run.outputs, ctx)).toEqual([]);
  });

  it('refuses to delete a folder without keep', () => {
    t = tempDir();
    const run = runActionsForReal(
      fileRemove.plan(fileRemove.params.parse({ path: t.path, keep: false }), ctx).actions,
      shell,
    );
    expect(run.ok).toBe(false);
    expect(run.last?.stderr).toContain('is a folder');
    expect(existsSync(t.path)).toBe(true);
  });

  it('refuses to move over an earlier kept copy, and the undo refuses a lost one', () => {
    t = tempDir();
    const lock = `${t.path}/hold.lock`;
    writeFileSync(lock, 'x');
    const c = testContext({ runDir: `${t.path}/run` });
    mkdirSync(`${t.path}/run/upgrade_step_web`, { recursive: true });
    writeFileSync(`${t.path}/run/upgrade_step_web/kept`, 'earlier');
    const p = fileRemove.params.parse({ path: lock });
    const run = runActionsForReal(fileRemove.plan(p, c).actions, shell);
    expect(run.last).toMatchObject({ code: 1, stdout: '' });
    expect(run.last?.stderr).toBe(
      `file.remove: ${t.path}/run/upgrade_step_web/kept already holds an earlier copy; ${lock} was left in place\n`,
    );
    expect(readFileSync(lock, 'utf8')).toBe('x');
    const lost = runActionsForReal(
      fileRemove.compensate!(p, { path: lock, kept: `${t.path}/gone` }, c),
      shell,
    );
    expect(lost.last).toMatchObject({ code: 1, stdout: '' });
    expect(lost.last?.stderr).toBe(
      `file.remove undo: the kept copy ${t.path}/gone is gone; cannot put back ${lock}\n`,
    );
  });

  it('prints the path of an absent file, and deletes a file for good without keep', () => {
    t = tempDir();
    const absent = runActionsForReal(
      fileRemove.plan(
        fileRemove.params.parse({ path: `${t.path}/absent` }),
        testContext({ runDir: `${t.path}/run` }),
      ).actions,
      shell,
    );
    expect(absent.last).toMatchObject({
      code: 0,
      stdout: `path=${t.path}/absent\n`,
      stderr: `file.remove: nothing to do: ${t.path}/absent is absent\n`,
    });
    writeFileSync(`${t.path}/f`, 'x');
    const p = fileRemove.params.parse({ path: `${t.path}/f`, keep: false });
    const planned = fileRemove.plan(p, ctx);
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
    expect(runActionsForReal(planned.actions, shell).last).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(existsSync(`${t.path}/f`)).toBe(false);
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(0);
  });
});
