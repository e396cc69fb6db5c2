import { readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../shell/secret.js';
import { TemplatedWord } from '../shell/word.js';
import { commandsOf, runActionsForReal, SHELLS, tempDir, testContext } from './test-support.js';
import { yamlEdit } from './yaml-edit.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const CONFIG = '/usr/share/comindware/configs/instance/cmw.yml';

describe('yaml.edit', () => {
  it('returns one edit: deletions first, then sets with their comments', () => {
    const p = yamlEdit.params.parse({
      file: CONFIG,
      delete: ['isContainerEnvironment', 'clusterNodes'],
      set: { 'db.holdLock': true, 'server/port': 8080 },
      comments: { 'db.holdLock': 'Не загружает платформу пока существует файл db.workDir/hold.lock' },
    });
    expect(yamlEdit.plan(p, ctx).actions).toEqual([
      {
        type: 'edit',
        path: CONFIG,
        spec: {
          editor: 'yaml',
          ops: [
            { op: 'delete', key: 'isContainerEnvironment' },
            { op: 'delete', key: 'clusterNodes' },
            {
              op: 'set',
              key: 'db.holdLock',
              value: true,
              comment: 'Не загружает платформу пока существует файл db.workDir/hold.lock',
            },
            { op: 'set', key: 'server/port', value: 8080 },
          ],
        },
        backupPath: `${DIR}/original`,
      },
    ]);
  });

  it('restores the original byte-identical from the recorded backup', () => {
    const p = yamlEdit.params.parse({ file: "/etc/a b'; touch /tmp/pwned.yml", set: { x: 1 } });
    const undo = yamlEdit.compensate!(p, { backup: `${DIR}/original` }, ctx);
    expect(undo.map((a) => a.type === 'exec' && a.cmd.render('exec'))).toEqual([
      [
        `b=${DIR}/original`,
        `f='/etc/a b'\\''; touch /tmp/pwned.yml'`,
        'if [ ! -e "$b" ]; then',
        `  printf '%s undo: the original %s is gone; %s was left as it is\\n' yaml.edit "$b" "$f" >&2`,
        '  exit 1',
        'fi',
        't=$(readlink -f -- "$f") || t=$f',
        'cp -p -- "$b" "$t.cutover-undo" && mv -f -T -- "$t.cutover-undo" "$t"',
      ].join('\n'),
    ]);
    expect(yamlEdit.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses empty edits, conflicting keys, stray comments and secret values', () => {
    expect(() => yamlEdit.params.parse({ file: CONFIG })).toThrow(/nothing to edit/);
    expect(() => yamlEdit.params.parse({ file: CONFIG, set: { a: 1 }, delete: ['a'] })).toThrow(
      /both set and deleted/,
    );
    expect(() => yamlEdit.params.parse({ file: CONFIG, delete: ['a'], comments: { a: 'x' } })).toThrow(
      /not set/,
    );
    expect(() => yamlEdit.params.parse({ file: CONFIG, set: { 'a//b': 1 } })).toThrow(/key path/);
    const secret = new TemplatedWord(['pw-', new Secret('db', 'x')]);
    expect(() => yamlEdit.params.parse({ file: CONFIG, set: { 'db.password': secret } })).toThrow(
      /holds a secret/,
    );
  });
});

describe.each(SHELLS)('yaml.edit undo under %s, for real', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());

  it('puts the original back through a symlink, keeping the link', () => {
    t = tempDir();
    const target = `${t.path}/available.yml`;
    const link = `${t.path}/enabled.yml`;
    const original = '# header\r\ndb.holdLock: false\r\n';
    writeFileSync(target, 'edited: true\n', { mode: 0o640 });
    symlinkSync(target, link);
    writeFileSync(`${t.path}/original`, original);
    const p = yamlEdit.params.parse({ file: link, set: { a: 1 } });
    const run = runActionsForReal(
      yamlEdit.compensate!(p, { backup: `${t.path}/original`, path: link }, ctx),
      shell,
    );
    expect(run.ok).toBe(true);
    expect(readFileSync(link, 'utf8')).toBe(original);
    expect(statSync(link).isFile()).toBe(true);
    expect(commandsOf(yamlEdit.compensate!(p, { backup: `${t.path}/gone` }, ctx))).toHaveLength(1);
    const gone = runActionsForReal(yamlEdit.compensate!(p, { backup: `${t.path}/gone` }, ctx), shell);
    expect(gone.ok).toBe(false);
    expect(gone.last).toMatchObject({ code: 1, stdout: '' });
    expect(gone.last?.stderr).toBe(
      `yaml.edit undo: the original ${t.path}/gone is gone; ${link} was left as it is\n`,
    );
    expect(readFileSync(link, 'utf8')).toBe(original);
  });
});
