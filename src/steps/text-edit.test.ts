import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ActionFailed, type ActionEnv, FakeClock, runAction } from '../actions/index.js';
import type { JournalEventBody } from '../journal/events.js';
import { Redactor, Secret } from '../shell/secret.js';
import { TemplatedWord } from '../shell/word.js';
import { LocalTransport } from '../transport/local.js';
import type { Session } from '../transport/transport.js';
import type { Action } from './kind.js';
import { applyTextOps } from './edits/index.js';
import { runActionsForReal, runForReal, SHELLS, tempDir, testContext } from './test-support.js';
import { formatOf, textEdit } from './text-edit.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';

describe('text.edit', () => {
  it('plans one edit: replacements, then keys, then XML attributes; its probe compares the recorded sha256', () => {
    const p = textEdit.params.parse({
      file: '/opt/shop/conf/app.properties',
      replace: [{ pattern: '^maxSessionTimeout=.*', with: 'maxSessionTimeout=60000' }],
      set: { 'server.port': 8081, 'checkout.v2.enabled': true },
      xml: [{ element: "Server/Service/Connector[@port='8080']", attribute: 'port', value: '8081' }],
      validate: 'shop-check {{ params.x }}',
    });
    const planned = textEdit.plan(p, ctx);
    const [edit] = planned.actions;
    expect(edit).toMatchObject({
      type: 'edit',
      path: '/opt/shop/conf/app.properties',
      spec: {
        editor: 'text',
        ops: [
          {
            op: 'replace',
            pattern: '^maxSessionTimeout=.*',
            with: 'maxSessionTimeout=60000',
            all: false,
            allowNoMatch: false,
          },
          { op: 'set', format: 'properties', key: 'server.port', value: '8081' },
          { op: 'set', format: 'properties', key: 'checkout.v2.enabled', value: 'true' },
          { op: 'xml', element: "Server/Service/Connector[@port='8080']", attribute: 'port', value: '8081' },
        ],
      },
      backupPath: `${DIR}/original`,
      resultPath: `${DIR}/edited.sha256`,
    });
    expect(edit?.type === 'edit' && String(edit.validate)).toBe('shop-check {{ params.x }}');
    expect(planned.probe?.cmd.render('exec')).toBe(
      [
        'f=/opt/shop/conf/app.properties',
        `s=${DIR}/edited.sha256`,
        '[ -e "$s" ] || exit 1',
        '[ -e "$f" ] || exit 2',
        'h=$(sha256sum < "$f") || exit 2',
        `[ "$` + `{h%% *}" = "$(cat "$s")" ]`,
      ].join('\n'),
    );
    expect(textEdit.rerunSafe).toBe(true);
  });

  it('plans deletions after the replacements and before the keys', () => {
    const p = textEdit.params.parse({
      file: '/etc/shop/app.properties',
      set: { a: 1 },
      delete: [{ pattern: '^debug=' }, { pattern: '^#', allow_no_match: true }],
      replace: [{ pattern: '^x=.*', with: 'x=1' }],
    });
    const [edit] = textEdit.plan(p, ctx).actions;
    expect(edit?.type === 'edit' && edit.spec).toEqual({
      editor: 'text',
      ops: [
        { op: 'replace', pattern: '^x=.*', with: 'x=1', all: false, allowNoMatch: false },
        { op: 'delete', pattern: '^debug=', allowNoMatch: false },
        { op: 'delete', pattern: '^#', allowNoMatch: true },
        { op: 'set', format: 'properties', key: 'a', value: '1' },
      ],
    });
    expect(textEdit.intent?.(p).does).toBe(
      'edit /etc/shop/app.properties: replace /^x=.*/, delete lines /^debug=/, delete lines /^#/, set a',
    );
    expect(() => textEdit.params.parse({ file: '/etc/a', delete: [{ pattern: '(' }] })).toThrow(
      /invalid regular/,
    );
    expect(() => textEdit.params.parse({ file: '/etc/a', delete: [] })).toThrow(/give replace, delete/);
  });

  it('reads ini sections from section/key and the dialect from the file name or format', () => {
    const ini = textEdit.params.parse({
      file: '/etc/my.cnf',
      set: { 'mysqld/max_connections': 500, port: 3306 },
    });
    const [edit] = textEdit.plan(ini, ctx).actions;
    expect(edit?.type === 'edit' && edit.spec).toEqual({
      editor: 'text',
      ops: [
        { op: 'set', format: 'ini', key: 'max_connections', section: 'mysqld', value: '500' },
        { op: 'set', format: 'ini', key: 'port', value: '3306' },
      ],
    });
    expect(formatOf('/srv/app/.env')).toBe('env');
    expect(formatOf('/srv/app/.env.production')).toBe('env');
    expect(formatOf('/etc/php/php.ini')).toBe('ini');
    expect(formatOf('/opt/zookeeper/conf/zoo.cfg')).toBeUndefined();
    const cfg = textEdit.params.parse({
      file: '/opt/zk/zoo.cfg',
      format: 'properties',
      set: { tickTime: 3000 },
    });
    expect(textEdit.plan(cfg, ctx).actions[0]).toMatchObject({ spec: { ops: [{ format: 'properties' }] } });
  });

  it('refuses what it cannot do as asked', () => {
    expect(() => textEdit.params.parse({ file: '/etc/a.properties' })).toThrow(/nothing to edit/);
    expect(() => textEdit.params.parse({ file: '/etc/zoo.cfg', set: { a: 1 } })).toThrow(/give format/);
    expect(() => textEdit.params.parse({ file: 'etc/a.properties', set: { a: 1 } })).toThrow(/absolute/);
    expect(() => textEdit.params.parse({ file: '/etc/a.properties', set: { 's/a': 1 } })).toThrow(
      /for .ini files/,
    );
    expect(() => textEdit.params.parse({ file: '/etc/a', replace: [{ pattern: '(', with: 'x' }] })).toThrow(
      /invalid regular/,
    );
    expect(() =>
      textEdit.params.parse({ file: '/etc/a', replace: [{ pattern: 'a', with: 'x\ny' }] }),
    ).toThrow(/one line/);
    expect(() =>
      textEdit.params.parse({ file: '/etc/a.xml', xml: [{ element: 'a[x]', attribute: 'b', value: '1' }] }),
    ).toThrow(/element path/);
    const secret = new TemplatedWord(['pw-', new Secret('db', 'xyz')]);
    expect(() => textEdit.params.parse({ file: '/etc/a.env', set: { DB_PASSWORD: secret } })).toThrow(
      /holds a secret/,
    );
  });

  it('undoes by restoring the recorded backup, and nothing without one', () => {
    const p = textEdit.params.parse({ file: '/etc/a.properties', set: { a: 1 } });
    expect(textEdit.compensate!(p, {}, ctx)).toEqual([]);
    const [undo] = textEdit.compensate!(p, { backup: `${DIR}/original` }, ctx);
    expect(undo?.type === 'exec' && undo.cmd.render('exec')).toBe(
      [
        `b=${DIR}/original`,
        'f=/etc/a.properties',
        'if [ ! -e "$b" ]; then',
        `  printf '%s undo: the original %s is gone; %s was left as it is\\n' text.edit "$b" "$f" >&2`,
        '  exit 1',
        'fi',
        't=$(readlink -f -- "$f") || t=$f',
        'cp -p -- "$b" "$t.cutover-undo" && mv -f -T -- "$t.cutover-undo" "$t"',
      ].join('\n'),
    );
  });
});

/** The action env of a step on this machine, its journal collected. */
function envOn(session: Session, stepDir: string): ActionEnv & { events: JournalEventBody[] } {
  const clock = new FakeClock();
  const events: JournalEventBody[] = [];
  return {
    session,
    clock,
    deadline: clock.now() + 60_000,
    signal: new AbortController().signal,
    ctx: testContext({ runDir: stepDir }),
    stepId: 'edit',
    host: 'ctl',
    marks: [],
    outputs: {},
    redactor: new Redactor(),
    emit: (e) => events.push(e),
    approveGate: async () => false,
    pollIntervalMs: 1,
    events,
  };
}

describe('text.edit through the action interpreter, for real', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  let transport: LocalTransport | undefined;
  afterEach(async () => {
    await transport?.close();
    t?.remove();
  });

  async function setUp(text: string | Buffer, name = 'app.properties') {
    t = tempDir();
    transport = new LocalTransport();
    const session = await transport.connect({ name: 'ctl', address: 'localhost' });
    const file = `${t.path}/${name}`;
    writeFileSync(file, text);
    return { session, file, dir: t.path };
  }

  const actionsOf = (params: unknown, dir: string) => {
    const p = textEdit.params.parse(params);
    const c = testContext({ runDir: dir, stepId: 'edit' });
    return { p, planned: textEdit.plan(p, c), c };
  };

  it('edits byte-exactly, records the result for its probe, and the undo puts the original back', async () => {
    const original = '# zoo\r\nmaxSessionTimeout=40000\r\nclient.port = 2181\r\ntickTime=2000';
    const { session, file, dir } = await setUp(original);
    const { p, planned, c } = actionsOf(
      {
        file,
        replace: [{ pattern: '^maxSessionTimeout=.*', with: 'maxSessionTimeout=60000' }],
        set: { 'client.port': 2182, 'new.key': 'x' },
      },
      dir,
    );
    const probe = planned.probe!;
    expect(runForReal(probe.cmd).code).toBe(1);
    const env = envOn(session, dir);
    for (const a of planned.actions) await runAction(a, env);
    const edited = '# zoo\r\nmaxSessionTimeout=60000\r\nclient.port = 2182\r\ntickTime=2000\r\nnew.key=x';
    expect(readFileSync(file, 'utf8')).toBe(edited);
    expect(readFileSync(env.outputs.backup as string, 'utf8')).toBe(original);
    expect(runForReal(probe.cmd).code).toBe(0);
    const diff = env.events.find((e) => e.type === 'step.output' && e.text.startsWith('---'));
    const shownDiff = diff && 'text' in diff ? diff.text : '';
    expect(shownDiff).toContain('\n-maxSessionTimeout=40000\n');
    expect(shownDiff).toContain('\n+maxSessionTimeout=60000\n');

    // Re-run (a resume): the edit starts again from the first original, so it is applied once.
    const again = envOn(session, dir);
    for (const a of planned.actions) await runAction(a, again);
    expect(readFileSync(file, 'utf8')).toBe(edited);
    expect(again.events.some((e) => e.type === 'step.output' && e.text.endsWith('already as wanted\n'))).toBe(
      true,
    );

    // Something else changed the file: a re-run refuses instead of editing it again.
    writeFileSync(file, `${edited}\r\nextra=1`);
    await expect(runAction(planned.actions[0] as Action, envOn(session, dir))).rejects.toThrow(
      /changed since this step backed it up/,
    );
    writeFileSync(file, edited);

    const undo = textEdit.compensate!(p, env.outputs, c);
    expect(runActionsForReal(undo).ok).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(original);
    expect(runForReal(probe.cmd).code).toBe(1);
  });

  it('applies a non-idempotent replacement once, however often it is re-run', async () => {
    const { session, file, dir } = await setUp('opts=-Xmx1g\n', 'jvm.cfg');
    const { planned } = actionsOf({ file, replace: [{ pattern: '^opts=', with: 'opts=-server ' }] }, dir);
    for (let i = 0; i < 3; i++) for (const a of planned.actions) await runAction(a, envOn(session, dir));
    expect(readFileSync(file, 'utf8')).toBe('opts=-server -Xmx1g\n');
  });

  it('fails clearly on a pattern that matches nothing, changing nothing', async () => {
    const { session, file, dir } = await setUp('a=1\n', 'x.cfg');
    const { planned } = actionsOf({ file, replace: [{ pattern: '^b=', with: 'b=2' }] }, dir);
    const failed = runAction(planned.actions[0] as Action, envOn(session, dir));
    await expect(failed).rejects.toThrow(ActionFailed);
    await expect(runAction(planned.actions[0] as Action, envOn(session, dir))).rejects.toThrow(
      /\/\^b=\/ matches no line/,
    );
    expect(readFileSync(file, 'utf8')).toBe('a=1\n');
    const allowed = actionsOf(
      { file, replace: [{ pattern: '^b=', with: 'b=2', allow_no_match: true }] },
      dir,
    );
    await runAction(allowed.planned.actions[0] as Action, envOn(session, dir));
    expect(readFileSync(file, 'utf8')).toBe('a=1\n');
  });

  it('refuses a file that is not UTF-8, and puts the original back when validate fails', async () => {
    const latin1 = Buffer.from([0x61, 0x3d, 0xe9, 0x0a]); // a=é in ISO-8859-1
    const { session, file, dir } = await setUp(latin1, 'l.properties');
    const { planned } = actionsOf({ file, set: { b: 1 } }, dir);
    await expect(runAction(planned.actions[0] as Action, envOn(session, dir))).rejects.toThrow(/not UTF-8/);
    expect(readFileSync(file).equals(latin1)).toBe(true);

    const target = `${dir}/real.properties`;
    writeFileSync(target, 'a=1\n');
    symlinkSync(target, `${dir}/link.properties`);
    const bad = actionsOf({ file: `${dir}/link.properties`, set: { a: 2 }, validate: 'exit 3' }, `${dir}/v`);
    const env = envOn(session, `${dir}/v`);
    await expect(runAction(bad.planned.actions[0] as Action, env)).rejects.toThrow(
      /validation failed.*restored/,
    );
    expect(readFileSync(target, 'utf8')).toBe('a=1\n');
    expect(env.outputs.backup).toBeUndefined();
  });
});

describe.each(SHELLS)('text.edit delete under %s, for real', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  let transport: LocalTransport | undefined;
  afterEach(async () => {
    await transport?.close();
    t?.remove();
  });

  const FILES = [
    '# shop\ndebug=true\nport=8080\n#debug=false\ndebug.sql=1\n',
    '[mysqld]\r\nskip-name-resolve\r\nport=3306\r\n',
    'keep\ndebug=1',
    'debug=1\nkeep',
  ];
  const SCRIPTS: [sed: string, pattern: string][] = [
    ['/^debug/d', '^debug'],
    ['/^#/d', '^#'],
    ['/resolve$/d', 'resolve$'],
    ['/^debug=1$/d', '^debug=1$'],
  ];

  it.each(SCRIPTS)(
    "removes the lines sed -i '%s' removes, byte for byte, and its undo puts the original back",
    async (sedScript, pattern) => {
      t = tempDir();
      transport = new LocalTransport();
      const session = await transport.connect({ name: 'ctl', address: 'localhost' });
      for (const [i, original] of FILES.entries()) {
        const bySed = `${t.path}/sed-${i}`;
        const byStep = `${t.path}/step-${i}`;
        writeFileSync(bySed, original);
        writeFileSync(byStep, original);
        const sed = spawnSync(shell, ['-c', 'sed -i "$1" "$2"', shell, sedScript, bySed], {
          encoding: 'utf8',
        });
        expect(sed.status, sed.stderr).toBe(0);
        const expected = readFileSync(bySed, 'utf8');
        // CRLF lines: sed sees the \r, text.edit does not; only compare where sed and the step read lines alike.
        if (original.includes('\r') && /\$/.test(pattern)) continue;
        const p = textEdit.params.parse({ file: byStep, delete: [{ pattern, allow_no_match: true }] });
        const c = testContext({ runDir: `${t.path}/run-${i}`, stepId: 'edit' });
        const env = envOn(session, `${t.path}/run-${i}`);
        for (const a of textEdit.plan(p, c).actions) await runAction(a, env);
        expect(readFileSync(byStep, 'utf8'), `${JSON.stringify(original)} with ${sedScript}`).toBe(expected);
        expect(applyTextOps(original, [{ op: 'delete', pattern, allowNoMatch: true }])).toBe(expected);
        if (expected === original) continue;
        expect(runActionsForReal(textEdit.compensate!(p, env.outputs, c), shell).ok).toBe(true);
        expect(readFileSync(byStep, 'utf8')).toBe(original);
      }
    },
  );
});

describe.each(SHELLS)('text.edit probe under %s, for real', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());
  it('cannot tell for a missing file once a result was recorded', () => {
    t = tempDir();
    const p = textEdit.params.parse({ file: `${t.path}/gone.properties`, set: { a: 1 } });
    const probe = textEdit.plan(p, testContext({ runDir: t.path, stepId: 's' })).probe!;
    expect(runForReal(probe.cmd, {}, shell).code).toBe(1);
    mkdirSync(`${t.path}/s`);
    writeFileSync(`${t.path}/s/edited.sha256`, 'abc\n');
    expect(runForReal(probe.cmd, {}, shell).code).toBe(2);
    writeFileSync(`${t.path}/gone.properties`, 'a=1\n');
    expect(runForReal(probe.cmd, {}, shell).code).toBe(1);
  });
});
