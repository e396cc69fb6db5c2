import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Action } from './kind.js';
import { serviceRestart, serviceStart, serviceStop } from './service.js';
import { commandsOf, runForReal, SHELLS, tempDir, testContext } from './test-support.js';

const ctx = testContext();
const DIR = '/var/tmp/cutover/r1/upgrade_step_web';
const unit = { unit: 'comindwarecmw' };
const save = (verb: string) =>
  [
    `d=${DIR}`,
    'mkdir -p -- "$d" || exit 2',
    'if [ ! -e "$d/before" ]; then',
    '  s=$(systemctl is-active comindwarecmw)',
    '  if [ -z "$s" ]; then',
    `    printf 'service.%s: cannot read the state of %s (systemctl is-active printed nothing)\\n' ${verb} comindwarecmw >&2`,
    '    exit 2',
    '  fi',
    `  printf '%s\\n' "$s" > "$d/before"`,
    'fi',
    `printf 'before=%s\\n' "$(cat "$d/before")"`,
  ].join('\n');
const waitCommand = (a: Action | undefined) =>
  a?.type === 'wait' && a.condition.kind === 'command'
    ? `${String(a.condition.cmd)} (${a.condition.description})`
    : a?.type;
const STOPPED_WAIT = `s=$(systemctl is-active comindwarecmw); echo "$s"; [ "$s" = inactive ] || [ "$s" = failed ] (comindwarecmw to be stopped (inactive or failed))`;
const ACTIVE_WAIT = 'systemctl is-active comindwarecmw (comindwarecmw to be active)';

describe('service.stop|start|restart', () => {
  it('stop: records the state, stops, waits for inactive or failed', () => {
    const planned = serviceStop.plan(serviceStop.params.parse(unit), ctx);
    expect(commandsOf(planned.actions)).toEqual([save('stop'), 'systemctl stop comindwarecmw', 'wait']);
    expect(planned.actions[0]).toMatchObject({ capture: { keyValues: true } });
    expect(waitCommand(planned.actions[2])).toBe(STOPPED_WAIT);
    expect(String(planned.probe?.cmd)).toBe(
      [
        `d=${DIR}`,
        'if [ -e "$d/before" ]; then',
        `  printf 'before=%s\\n' "$(cat "$d/before")"`,
        'fi',
        's=$(systemctl is-active comindwarecmw)',
        'case $s in (inactive|failed) exit 0;; (active|activating|deactivating|reloading|refreshing) exit 1;; (*) exit 2;; esac',
      ].join('\n'),
    );
  });

  it('start and restart: wait for active; only start has a probe', () => {
    const start = serviceStart.plan(serviceStart.params.parse(unit), ctx);
    expect(commandsOf(start.actions)).toEqual([save('start'), 'systemctl start comindwarecmw', 'wait']);
    expect(waitCommand(start.actions[2])).toBe(ACTIVE_WAIT);
    expect(String(start.probe?.cmd)).toContain(
      'case $s in (active|reloading|refreshing) exit 0;; (inactive|failed|activating|deactivating) exit 1;; (*) exit 2;; esac',
    );
    const restart = serviceRestart.plan(serviceRestart.params.parse(unit), ctx);
    expect(commandsOf(restart.actions)).toEqual([save('restart'), 'systemctl restart comindwarecmw', 'wait']);
    expect(waitCommand(restart.actions[2])).toBe(ACTIVE_WAIT);
    expect(restart.probe).toBeUndefined();
  });

  it('undo restores the state before, and nothing when it was not recorded', () => {
    const p = serviceStop.params.parse(unit);
    const undo = serviceStop.compensate!(p, { before: 'active' }, ctx);
    expect(commandsOf(undo)).toEqual(['systemctl start comindwarecmw', 'wait']);
    expect(waitCommand(undo[1])).toBe(ACTIVE_WAIT);
    expect(serviceStop.compensate!(p, { before: 'inactive' }, ctx)).toEqual([]);
    expect(serviceStop.compensate!(p, { before: 'failed' }, ctx)).toEqual([]);
    expect(serviceStop.compensate!(p, {}, ctx)).toEqual([]);

    const stopAgain = serviceStart.compensate!(p, { before: 'inactive' }, ctx);
    expect(commandsOf(stopAgain)).toEqual(['systemctl stop comindwarecmw', 'wait']);
    expect(waitCommand(stopAgain[1])).toBe(STOPPED_WAIT);
    expect(serviceStart.compensate!(p, { before: 'active' }, ctx)).toEqual([]);
    expect(commandsOf(serviceRestart.compensate!(p, { before: 'failed' }, ctx))).toEqual([
      'systemctl stop comindwarecmw',
      'wait',
    ]);
    expect(serviceRestart.compensate!(p, { before: 'active' }, ctx)).toEqual([]);
    expect(serviceRestart.compensate!(p, {}, ctx)).toEqual([]);
  });

  it('refuses unit names that are not unit names', () => {
    expect(() => serviceStop.params.parse({ unit: "nginx'; touch /tmp/pwned" })).toThrow(/systemd unit name/);
    expect(() => serviceStop.params.parse({ unit: '--all' })).toThrow(/systemd unit name/);
    expect(serviceStop.params.parse({ unit: 'apigateway-cmw@1.service' }).unit).toBe(
      'apigateway-cmw@1.service',
    );
  });
});

describe.each(SHELLS)('service.* under %s, for real with a systemctl stand-in', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());

  it('records the first state only, and the probe reads the state', () => {
    t = tempDir();
    mkdirSync(`${t.path}/bin`);
    // No systemd here: a stand-in that keeps the unit's state in a file.
    writeFileSync(
      `${t.path}/bin/systemctl`,
      `#!/bin/sh\nstate=${t.path}/state\ncase $1 in\n is-active) s=$(cat "$state"); echo "$s"; [ "$s" = active ];;\n stop) echo inactive > "$state";;\n start) echo active > "$state";;\nesac\n`,
    );
    chmodSync(`${t.path}/bin/systemctl`, 0o755);
    writeFileSync(`${t.path}/state`, 'active\n');
    const env = { PATH: `${t.path}/bin:${process.env.PATH}` };
    const planned = serviceStop.plan(
      serviceStop.params.parse(unit),
      testContext({ runDir: `${t.path}/run` }),
    );
    const [save, stop, wait] = planned.actions;
    if (
      save?.type !== 'exec' ||
      stop?.type !== 'exec' ||
      wait?.type !== 'wait' ||
      wait.condition.kind !== 'command'
    ) {
      throw new Error('unexpected actions');
    }
    expect(runForReal(planned.probe!.cmd, env, shell).code).toBe(1);
    expect(runForReal(wait.condition.cmd, env, shell).code).toBe(1);
    expect(runForReal(save.cmd, env, shell).outputs).toEqual({ before: 'active' });
    expect(runForReal(stop.cmd, env, shell).code).toBe(0);
    expect(runForReal(save.cmd, env, shell).outputs).toEqual({ before: 'active' }); // a retry keeps the first state
    expect(runForReal(wait.condition.cmd, env, shell).code).toBe(0);
    const probed = runForReal(planned.probe!.cmd, env, shell);
    expect(probed.code).toBe(0);
    expect(probed.outputs).toEqual({ before: 'active' });
    writeFileSync(`${t.path}/state`, 'unknown-word\n');
    expect(runForReal(planned.probe!.cmd, env, shell).code).toBe(2);
  });

  it('refuses with exit 2 when systemctl prints no state, recording nothing', () => {
    t = tempDir();
    mkdirSync(`${t.path}/bin`);
    writeFileSync(`${t.path}/bin/systemctl`, '#!/bin/sh\nexit 4\n');
    chmodSync(`${t.path}/bin/systemctl`, 0o755);
    const env = { PATH: `${t.path}/bin:${process.env.PATH}` };
    const c = testContext({ runDir: `${t.path}/run` });
    const [save] = serviceStart.plan(serviceStart.params.parse(unit), c).actions;
    if (save?.type !== 'exec') throw new Error('expected exec');
    expect(runForReal(save.cmd, env, shell)).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'service.start: cannot read the state of comindwarecmw (systemctl is-active printed nothing)\n',
    });
    expect(existsSync(`${c.runDir}/upgrade_step_web/before`)).toBe(false);
  });
});

describe.runIf(process.getuid?.() === 0)(
  'service.stop and its undo, for real against the lab systemctl',
  () => {
    let t: ReturnType<typeof tempDir> | undefined;
    afterEach(() => t?.remove());

    it('stops a running unit, waits, probes done, and the undo starts it again', () => {
      t = tempDir();
      const c = testContext({ runDir: `${t.path}/run` });
      const p = serviceStop.params.parse({ unit: 'demo' });
      const planned = serviceStop.plan(p, c);
      const [save, stop, wait] = planned.actions;
      const [start, waitActive] = serviceStop.compensate!(p, { before: 'active' }, c);
      const write = (name: string, action: Action | undefined) => {
        const cmd =
          action?.type === 'exec'
            ? action.cmd
            : action?.type === 'wait' && action.condition.kind === 'command'
              ? action.condition.cmd
              : undefined;
        if (!cmd) throw new Error(`no command for ${name}`);
        writeFileSync(`${t!.path}/${name}.sh`, cmd.render('exec'));
      };
      write('save', save);
      write('stop', stop);
      write('wait', wait);
      write('start', start);
      write('waitActive', waitActive);
      writeFileSync(`${t.path}/probe.sh`, planned.probe!.cmd.render('exec'));
      const run = (name: string) => `sh ${t!.path}/${name}.sh; echo "${name} rc=$?"`;
      const poll = (name: string) =>
        `i=0; until sh ${t!.path}/${name}.sh >/dev/null; do i=$((i + 1)); if [ $i -ge 100 ]; then break; fi; sleep 0.1; done; echo "${name} polls=$i"`;
      // A private mount namespace gives the lab's systemctl stand-in its own unit and state folders.
      const scriptText = [
        'mount -t tmpfs tmpfs /etc/systemd/system && mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log || exit 99',
        "printf '[Service]\\nExecStart=sleep 1000\\n' > /etc/systemd/system/demo.service",
        `export PATH=${fileURLToPath(new URL('../../lab/bin', import.meta.url))}:$PATH`,
        'systemctl start demo',
        run('probe'),
        run('save'),
        run('stop'),
        poll('wait'),
        run('probe'),
        run('save'),
        run('start'),
        poll('waitActive'),
        'systemctl is-active demo; systemctl stop demo',
      ].join('\n');
      const res = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', scriptText], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(res.stderr).toBe('');
      expect(res.stdout.split('\n').filter(Boolean)).toEqual([
        'probe rc=1',
        'before=active',
        'save rc=0',
        'stop rc=0',
        expect.stringMatching(/^wait polls=\d$/),
        'before=active',
        'probe rc=0',
        'before=active',
        'save rc=0',
        'start rc=0',
        expect.stringMatching(/^waitActive polls=\d$/),
        'active',
      ]);
    });
  },
);
