import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fileUpload } from './file-upload.js';
import type { Action } from './kind.js';
import { commandsOf, runActionsForReal, runForReal, SHELLS, tempDir, testContext } from './test-support.js';

const SHA = 'a'.repeat(64);
const ctx = testContext({ localSha256: { '/srv/runbooks/dist/ecsc.tar': SHA } });
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const execText = (a: Action | undefined) => (a?.type === 'exec' ? String(a.cmd) : '');

describe('file.upload', () => {
  it('keeps the existing file, then puts the controller file', () => {
    const p = fileUpload.params.parse({ src: 'dist/ecsc.tar', dest: '/home/ecsc.tar', mode: '0644' });
    expect(fileUpload.localFiles?.(p)).toEqual(['dist/ecsc.tar']);
    const planned = fileUpload.plan(p, ctx);
    expect(planned.actions.map((a) => a.type)).toEqual(['exec', 'put']);
    expect(planned.actions[0]).toMatchObject({ capture: { keyValues: true } });
    const save = execText(planned.actions[0]);
    expect(
      save.startsWith(
        `d=${DIR}\np=/home/ecsc.tar\nmkdir -p -- "$d" || exit 2\nif [ -e "$d/existed" ]; then\n  :\nelif `,
      ),
    ).toBe(true);
    expect(save).toContain(
      `\n  printf '%s: %s is a directory; expected the path of a file\\n' file.upload "$p" >&2\n  exit 2\n`,
    );
    expect(save).toContain(
      '\n  cp -a -- "$p" "$d/previous" && echo 1 > "$d/existed" || exit 2\nelse\n  echo 0 > "$d/existed"\nfi\n',
    );
    expect(save.endsWith(`\nprintf 'existed=%s\\npath=%s\\n' "$(cat "$d/existed")" "$p"`)).toBe(true);
    expect(planned.actions[1]).toEqual({
      type: 'put',
      localPath: 'dist/ecsc.tar',
      remotePath: '/home/ecsc.tar',
      mode: '0644',
    });
  });

  it('probes the host file against the controller checksum', () => {
    const planned = fileUpload.plan(
      fileUpload.params.parse({ src: 'dist/ecsc.tar', dest: '/home/ecsc.tar' }),
      ctx,
    );
    expect(String(planned.probe?.cmd)).toBe(
      [
        `d=${DIR}`,
        'p=/home/ecsc.tar',
        'if [ -e "$d/existed" ]; then',
        `  printf 'existed=%s\\n' "$(cat "$d/existed")"`,
        'fi',
        `printf 'path=%s\\n' "$p"`,
        '[ -f "$p" ] || exit 1',
        'h=$(sha256sum < "$p") || exit 2',
        `[ "\${h%% *}" = ${SHA} ]`,
      ].join('\n'),
    );
    const unknown = fileUpload.plan(fileUpload.params.parse({ src: 'other.tar', dest: '/home/x' }), ctx);
    expect(unknown.probe).toBeUndefined();
  });

  it('keeps a hostile destination one quoted word', () => {
    const dest = "/home/a b'; touch /tmp/pwned";
    const [action] = fileUpload.plan(fileUpload.params.parse({ src: 'x', dest }), ctx).actions;
    expect(action?.type === 'exec' && action.cmd.render('exec')).toContain(
      `\np='/home/a b'\\''; touch /tmp/pwned'\n`,
    );
  });

  it('undoes from the recorded outputs: restore, remove, or nothing', () => {
    const p = fileUpload.params.parse({ src: 'x', dest: '/home/ecsc.tar' });
    expect(commandsOf(fileUpload.compensate!(p, { existed: '1', path: '/home/ecsc.tar' }, ctx))).toEqual([
      `d=${DIR}\np=/home/ecsc.tar\ncp -a -- "$d/previous" "$p.cutover-undo" && mv -f -T -- "$p.cutover-undo" "$p"`,
    ]);
    expect(commandsOf(fileUpload.compensate!(p, { existed: '0' }, ctx))).toEqual([
      'p=/home/ecsc.tar\nrm -f -- "$p"',
    ]);
    expect(fileUpload.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses relative destinations and odd modes', () => {
    expect(() => fileUpload.params.parse({ src: 'x', dest: 'ecsc.tar' })).toThrow(/absolute/);
    expect(() => fileUpload.params.parse({ src: 'x', dest: '/x', mode: 'rw' })).toThrow(/octal/);
  });
});

describe.each(SHELLS)('file.upload under %s, for real', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());

  it('restores the replaced file byte-identical, even after a retry', () => {
    t = tempDir();
    const dest = `${t.path}/app.conf`;
    writeFileSync(dest, 'old\n');
    chmodSync(dest, 0o640);
    const sha = createHash('sha256').update('new\n').digest('hex');
    const c = testContext({
      runDir: `${t.path}/run`,
      controllerDir: t.path,
      localSha256: { [`${t.path}/new.conf`]: sha },
    });
    const p = fileUpload.params.parse({ src: 'new.conf', dest });
    const planned = fileUpload.plan(p, c);
    const saved = runActionsForReal(planned.actions.slice(0, 1), shell);
    expect(saved.outputs).toEqual({ existed: '1', path: dest });
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
    writeFileSync(dest, 'new\n'); // what the engine's put does
    expect(runActionsForReal(planned.actions.slice(0, 1), shell).outputs.existed).toBe('1'); // a retry keeps the first save
    const probed = runForReal(planned.probe!.cmd, {}, shell);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual({ existed: '1', path: dest });
    expect(runActionsForReal(fileUpload.compensate!(p, saved.outputs, c), shell).ok).toBe(true);
    expect(readFileSync(dest, 'utf8')).toBe('old\n');
    expect(statSync(dest).mode & 0o777).toBe(0o640);
  });

  it('removes the upload when there was no file before', () => {
    t = tempDir();
    const dest = `${t.path}/new.tar`;
    const c = testContext({ runDir: `${t.path}/run` });
    const p = fileUpload.params.parse({ src: 'new.tar', dest });
    const saved = runActionsForReal(fileUpload.plan(p, c).actions.slice(0, 1), shell);
    expect(saved.outputs.existed).toBe('0');
    writeFileSync(dest, 'uploaded');
    expect(runActionsForReal(fileUpload.compensate!(p, saved.outputs, c), shell).ok).toBe(true);
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses a directory as destination', () => {
    t = tempDir();
    const c = testContext({ runDir: `${t.path}/run` });
    const run = runActionsForReal(
      fileUpload.plan(fileUpload.params.parse({ src: 'x', dest: t.path }), c).actions.slice(0, 1),
      shell,
    );
    expect(run.ok).toBe(false);
    expect(run.last).toMatchObject({ code: 2, stdout: '' });
    expect(run.last?.stderr).toBe(`file.upload: ${t.path} is a directory; expected the path of a file\n`);
    expect(existsSync(`${t.path}/run/upgrade_step_web/existed`)).toBe(false);
  });
});
