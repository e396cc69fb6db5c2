import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fileRemove } from './file-remove.js';
import { commandsOf, runActionsForReal, runForReal, tempDir, testContext } from './test-support.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const LOCK = '/var/lib/comindware/cmw/Database/hold.lock';

describe('file.remove', () => {
  it('moves the file into the run folder and records where', () => {
    const planned = fileRemove.plan(fileRemove.params.parse({ path: LOCK }), ctx);
    expect(commandsOf(planned.actions)).toEqual([
      `p=${LOCK}; d=${DIR}; if [ -e "$p" ] || [ -L "$p" ]; then if [ -e "$d/kept" ] || [ -L "$d/kept" ]; then printf 'file.remove: %s already holds an earlier copy; %s was left in place\\n' "$d/kept" "$p" >&2; exit 1; fi; mkdir -p -- "$d" && mv -T -- "$p" "$d/kept" || exit 2; elif [ ! -e "$d/kept" ] && [ ! -L "$d/kept" ]; then printf 'file.remove: nothing to do: %s is absent\\n' "$p" >&2; printf 'path=%s\\n' "$p"; exit 0; fi; printf 'path=%s\\nkept=%s\\n' "$p" "$d/kept"`,
    ]);
    expect(planned.actions[0]).toMatchObject({ capture: { keyValues: true } });
    expect(String(planned.probe?.cmd)).toBe(
      `p=${LOCK}; d=${DIR}; if [ -e "$d/kept" ] || [ -L "$d/kept" ]; then printf 'path=%s\\nkept=%s\\n' "$p" "$d/kept"; fi; if [ -e "$p" ] || [ -L "$p" ]; then exit 1; fi`,
    );
  });

  it('deletes files only when keep is false, and has no undo then', () => {
    const p = fileRemove.params.parse({ path: "/tmp/a b'; touch /tmp/pwned", keep: false });
    const planned = fileRemove.plan(p, ctx);
    expect(planned.actions.map((a) => a.type === 'exec' && a.cmd.render('exec'))).toEqual([
      `p='/tmp/a b'\\''; touch /tmp/pwned'; if [ -d "$p" ] && [ ! -L "$p" ]; then printf 'file.remove: %s is a folder; keep: false removes files only (use keep: true to move it aside)\\n' "$p" >&2; exit 2; fi; rm -f -- "$p"`,
    ]);
    expect(fileRemove.compensate!(p, { kept: '/x' }, ctx)).toEqual([]);
  });

  it('moves the kept file back, or does nothing when nothing was kept', () => {
    const p = fileRemove.params.parse({ path: LOCK });
    expect(commandsOf(fileRemove.compensate!(p, { path: LOCK, kept: `${DIR}/kept` }, ctx))).toEqual([
      `p=${LOCK}; k=${DIR}/kept; if [ ! -e "$k" ] && [ ! -L "$k" ]; then printf 'file.remove undo: the kept copy %s is gone; cannot put back %s\\n' "$k" "$p" >&2; exit 1; fi; mv -f -T -- "$k" "$p"`,
    ]);
    expect(fileRemove.compensate!(p, { path: LOCK }, ctx)).toEqual([]);
    expect(fileRemove.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses / and relative paths', () => {
    expect(() => fileRemove.params.parse({ path: '/' })).toThrow(/not \//);
    expect(() => fileRemove.params.parse({ path: 'hold.lock' })).toThrow(/absolute/);
  });
});

describe('file.remove, for real', () => {
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
    expect(runForReal(planned.probe!.cmd).code).toBe(1);
    const run = runActionsForReal(planned.actions);
    expect(run.ok).toBe(true);
    expect(run.outputs).toEqual({ path: lock, kept: `${t.path}/run/upgrade_step_web/kept` });
    expect(existsSync(lock)).toBe(false);
    const probed = runForReal(planned.probe!.cmd);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual(run.outputs);
    // A retry after the move still reports where the file went.
    expect(runActionsForReal(planned.actions).outputs).toEqual(run.outputs);

    expect(runActionsForReal(fileRemove.compensate!(p, run.outputs, c)).ok).toBe(true);
    expect(readFileSync(lock).equals(bytes)).toBe(true);
    expect(statSync(lock).mode & 0o777).toBe(0o600);
  });

  it('treats an absent path as nothing to do, with nothing to undo', () => {
    t = tempDir();
    const p = fileRemove.params.parse({ path: `${t.path}/absent` });
    const run = runActionsForReal(fileRemove.plan(p, testContext({ runDir: `${t.path}/run` })).actions);
    expect(run.ok).toBe(true);
    expect(run.last?.stderr).toContain('nothing to do');
    expect(fileRemove.compensate!(p, run.outputs, ctx)).toEqual([]);
  });

  it('refuses to delete a folder without keep', () => {
    t = tempDir();
    const run = runActionsForReal(
      fileRemove.plan(fileRemove.params.parse({ path: t.path, keep: false }), ctx).actions,
    );
    expect(run.ok).toBe(false);
    expect(run.last?.stderr).toContain('is a folder');
    expect(existsSync(t.path)).toBe(true);
  });
});
