import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../shell/secret.js';
import { Expanded, TemplatedWord } from '../shell/word.js';
import { shellRun } from './shell-run.js';
import { runActionsForReal, runForReal, tempDir, testContext } from './test-support.js';

const ctx = testContext();
const plan = (p: Record<string, unknown>, c = ctx) => shellRun.plan(shellRun.params.parse(p), c);
const evil = "x'; touch /tmp/pwned";

describe('shell.run', () => {
  it('runs the script as written, and says its effect is unpredictable', () => {
    const planned = plan({ command: 'bash version_install.sh\nbash version_list.sh' });
    expect(planned.actions).toHaveLength(1);
    const [action] = planned.actions;
    expect(action?.type === 'exec' && String(action.cmd)).toBe(
      'bash version_install.sh\nbash version_list.sh',
    );
    expect(planned.unpredictable).toBe('runs an arbitrary script');
    expect(planned.probe).toBeUndefined();
    expect(shellRun.compensate?.(shellRun.params.parse({ command: 'true' }), {}, ctx)).toEqual([]);
  });

  it('quotes expanded template values as one word', () => {
    const command = new TemplatedWord([
      'bash instance_upgrade.sh -n=',
      new Expanded(evil),
      ' -vp=/var/www/.cmw_version/5.0',
    ]);
    const [action] = plan({ command }).actions;
    expect(action?.type === 'exec' && action.cmd.render('exec')).toBe(
      `bash instance_upgrade.sh -n='x'\\''; touch /tmp/pwned' -vp=/var/www/.cmw_version/5.0`,
    );
  });

  it('puts cwd and env first, and passes secret env values on stdin', () => {
    const [action] = plan({
      command: 'curl -u "admin:$PW" http://localhost/',
      cwd: '/opt/my app',
      env: { MODE: 'a b', PW: new Secret('pw', 's3cr3t') },
    }).actions;
    if (action?.type !== 'exec') throw new Error('expected exec');
    expect(action.cmd.render('exec')).toBe(
      `cd '/opt/my app' && export MODE='a b' && IFS= read -r PW && export PW && {\ncurl -u "admin:$PW" http://localhost/\n}`,
    );
    expect(action.cmd.render('exec')).not.toContain('s3cr3t');
    expect(String(action.cmd)).not.toContain('s3cr3t');
    expect(action.cmd.stdinText()).toBe('s3cr3t\n');
  });

  it('guards the script with creates and probes the path', () => {
    const planned = plan({ command: 'tar -xf /mnt/shared/cmw.tar.gz', creates: '/mnt/shared/CMW_5.0' });
    const [action] = planned.actions;
    expect(action?.type === 'exec' && String(action.cmd)).toBe(
      `if test -e /mnt/shared/CMW_5.0; then printf 'shell.run: nothing to do: %s exists\\n' /mnt/shared/CMW_5.0 >&2; else\ntar -xf /mnt/shared/cmw.tar.gz\nfi`,
    );
    expect(String(planned.probe?.cmd)).toBe('test -e /mnt/shared/CMW_5.0');
    expect(planned.unpredictable).toBeUndefined();
  });

  it('guards with unless, marks that the script ran, and undoes only then', () => {
    const p = shellRun.params.parse({
      command: 'useradd cmw',
      unless: 'id cmw',
      undo: 'userdel cmw',
      cwd: '/tmp',
      env: { TOKEN: new Secret('token', 'abc123') },
    });
    const planned = shellRun.plan(p, ctx);
    const [action] = planned.actions;
    expect(action?.type === 'exec' && String(action.cmd)).toBe(
      `cd /tmp && IFS= read -r TOKEN && export TOKEN && if {\nid cmw\n} >/dev/null; then echo 'shell.run: nothing to do: the unless check passed' >&2; else\nmkdir -p /var/tmp/cutover/r1/upgrade_step_web && : > /var/tmp/cutover/r1/upgrade_step_web/applied || exit 2\nuseradd cmw\nfi <<< <secret:token>'\n'`,
    );
    // The probe gets no stdin: cwd and plain env only.
    expect(String(planned.probe?.cmd)).toBe(
      'cd /tmp && if {\nid cmw\n} >/dev/null; then true; else false; fi',
    );
    const [undo] = shellRun.compensate?.(p, {}, ctx) ?? [];
    expect(undo?.type === 'exec' && String(undo.cmd)).toBe(
      `cd /tmp && IFS= read -r TOKEN && export TOKEN && if [ -e /var/tmp/cutover/r1/upgrade_step_web/applied ]; then\nuserdel cmw\nelse echo 'shell.run: the script never ran on this host; nothing to undo' >&2; fi <<< <secret:token>'\n'`,
    );
  });

  it('passes okCodes and capture through', () => {
    const [action] = plan({ command: 'cat /etc/hostname', okCodes: [0, 3], capture: 'hostname' }).actions;
    expect(action).toMatchObject({ type: 'exec', okCodes: [0, 3], capture: { as: 'hostname' } });
  });

  it('refuses unknown params, relative paths and bad env names', () => {
    expect(() => shellRun.params.parse({ command: 'x', creats: '/a' })).toThrow(/creats/);
    expect(() => shellRun.params.parse({ command: 'x', cwd: 'scripts' })).toThrow(/absolute path/);
    expect(() => shellRun.params.parse({ command: 'x', env: { 'A-B': '1' } })).toThrow(
      /environment variable name/,
    );
  });
});

describe('shell.run, for real', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());

  it('keeps a hostile value one word and feeds secrets on stdin', () => {
    t = tempDir();
    const pwned = `${t.path}/pwned`;
    const command = new TemplatedWord([
      'printf "%s|" ',
      new Expanded(`a b; touch ${pwned}`),
      '; printf "%s" "$PW"',
    ]);
    const [action] = plan({ command, cwd: t.path, env: { PW: new Secret('pw', "it's secret") } }).actions;
    if (action?.type !== 'exec') throw new Error('expected exec');
    const run = runForReal(action.cmd);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`a b; touch ${pwned}|it's secret`);
    expect(existsSync(pwned)).toBe(false);
  });

  it('skips the script when creates exists, and then the undo does nothing', () => {
    t = tempDir();
    const log = `${t.path}/log`;
    const p = shellRun.params.parse({
      command: `echo ran >> ${log}`,
      creates: `${t.path}/done`,
      undo: `echo undone >> ${log}`,
    });
    const c = testContext({ runDir: `${t.path}/run` });
    const planned = shellRun.plan(p, c);
    expect(runForReal(planned.probe!.cmd).code).toBe(1);
    writeFileSync(`${t.path}/done`, '');
    expect(runForReal(planned.probe!.cmd).code).toBe(0);
    expect(runActionsForReal(planned.actions).ok).toBe(true);
    expect(runActionsForReal(shellRun.compensate!(p, {}, c)).ok).toBe(true);
    expect(existsSync(log)).toBe(false);
  });

  it('runs the undo after the script ran', () => {
    t = tempDir();
    const log = `${t.path}/log`;
    const p = shellRun.params.parse({
      command: `echo ran >> ${log}`,
      unless: 'false',
      undo: `echo undone >> ${log}`,
    });
    const c = testContext({ runDir: `${t.path}/run` });
    expect(runActionsForReal(shellRun.plan(p, c).actions).ok).toBe(true);
    expect(runActionsForReal(shellRun.compensate!(p, {}, c)).ok).toBe(true);
    expect(readFileSync(log, 'utf8')).toBe('ran\nundone\n');
  });
});
