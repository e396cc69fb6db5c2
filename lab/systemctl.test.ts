// The systemctl stand-in (lab/bin/systemctl), exercised where it runs: inside a lab host, over ssh.
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp } from './hosts.js';
import { plainScenario } from './scenarios/plain.js';
import { eventually, sshPool, tempLabDir } from './test-support.js';

const labDir = tempLabDir('systemctl');
const ssh = sshPool(labDir);
const host = 'node1';
const run = (command: string) => ssh.run(host, command);
const out = (command: string) => ssh.out(host, command);

/** Writes a unit file in the host. */
async function unit(name: string, lines: string[]): Promise<void> {
  await out(`cat > /etc/systemd/system/${name}.service <<'EOF'\n${lines.join('\n')}\nEOF`);
}

const mainPid = async (name: string) => (await out(`systemctl show -p MainPID --value ${name}`)).trim();

beforeAll(async () => {
  await labUp({ scenario: plainScenario({ hosts: 1, firstAddress: '127.0.21.10' }), labDir });
  await unit('demo', [
    '[Unit]',
    'Description=Demo service',
    '',
    '[Service]',
    'Type=simple',
    // Records where and with what it started, then runs until told otherwise; HUP means reload.
    'ExecStart=/bin/sh -c \'echo "$PWD $GREETING $OTHER" > /tmp/demo.started; trap "echo reloaded >> /tmp/demo.started" HUP; sleep 1000 & while :; do wait; done\'',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'WorkingDirectory=/var/tmp',
    'Environment="GREETING=big world" OTHER=1',
    'TimeoutStopSec=5',
  ]);
});

afterAll(async () => {
  await ssh.close();
  await labDown({ labDir });
  await fs.rm(labDir, { recursive: true, force: true });
});

describe('systemctl stand-in', () => {
  it('starts a unit detached, with its WorkingDirectory and Environment, and reports it active', async () => {
    await out('systemctl start demo');
    expect(await run('systemctl is-active demo')).toMatchObject({ code: 0, stdout: 'active\n' });
    expect(
      await eventually(
        async () => (await run('cat /tmp/demo.started')).stdout || undefined,
        5000,
        'demo to start',
      ),
    ).toBe('/var/tmp big world 1\n');
    const pid = await mainPid('demo');
    expect(await out(`cat /run/lab-units/demo.service.pid`)).toBe(`${pid}\n`);
    // The ssh session that started it has ended; the unit still runs (its own session).
    expect(await run(`kill -0 ${pid}`)).toMatchObject({ code: 0 });
    const status = await run('systemctl status demo');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^● demo\.service - Demo service\n\s+Loaded: loaded \(\/etc\/systemd\/system\/demo\.service; disabled; preset: enabled\)\n\s+Active: active \(running\) since .+ ago\n\s+Main PID: \d+ \(sh\)\n/,
    );
    expect(status.stdout).toContain('systemd[1]: Started Demo service.');
  });

  it('treats start of an active unit as a no-op, and restart as a new process', async () => {
    const pid = await mainPid('demo');
    await out('systemctl start demo');
    expect(await mainPid('demo')).toBe(pid);
    await out('systemctl restart demo');
    const restarted = await mainPid('demo');
    expect(restarted).not.toBe(pid);
    expect(restarted).not.toBe('0');
    expect(await run(`kill -0 ${pid}`)).toMatchObject({ code: 1 });
  });

  it('reloads with ExecReload and $MAINPID', async () => {
    await eventually(
      async () => ((await run('cat /tmp/demo.started')).stdout ? true : undefined),
      5000,
      'demo to start',
    );
    await out('systemctl reload demo');
    expect(
      await eventually(
        async () => ((await out('cat /tmp/demo.started')).includes('reloaded') ? true : undefined),
        5000,
        'the reload',
      ),
    ).toBe(true);
    const noReload = await run('systemctl reload nginx');
    expect(noReload.code).toBe(1);
    expect(noReload.stderr).toContain('nginx.service is not active, cannot reload');
  });

  it('stops a unit with its whole process group and leaves no zombie', async () => {
    const pid = await mainPid('demo');
    const group = await out(`ps -o pid= -g ${pid}`);
    expect(group.trim().split(/\s+/).length).toBeGreaterThanOrEqual(2); // sh and its sleep
    await out('systemctl stop demo');
    expect(await run('systemctl is-active demo')).toMatchObject({ code: 3, stdout: 'inactive\n' });
    expect((await out(`ps -o pid= -g ${pid} || true`)).trim()).toBe('');
    expect(await out("ps -e -o stat= | grep -c '^Z' || true")).toBe('0\n');
    const status = await run('systemctl status demo');
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/Active: inactive \(dead\)/);
    expect(status.stdout).toContain('Stopped Demo service.');
    // Stopping an inactive unit is fine, as with systemd.
    expect(await run('systemctl stop demo')).toMatchObject({ code: 0 });
  });

  it('KILLs a unit that ignores TERM once TimeoutStopSec has passed, and marks it failed', async () => {
    await unit('stubborn', [
      '[Service]',
      'ExecStart=/bin/sh -c \'trap "" TERM; while :; do sleep 0.2; done\'',
      'TimeoutStopSec=1',
    ]);
    await out('systemctl start stubborn');
    const pid = await mainPid('stubborn');
    await out('systemctl stop stubborn');
    expect(await run(`kill -0 ${pid}`)).toMatchObject({ code: 1 });
    expect(await run('systemctl is-active stubborn')).toMatchObject({ code: 3, stdout: 'failed\n' });
    expect(await out('systemctl show -p Result --value stubborn')).toBe('timeout\n');
    const log = await out('cat /var/log/lab-units/stubborn.service.log');
    expect(log).toContain("stubborn.service: State 'stop-sigterm' timed out. Killing.");
    expect(log).toContain("stubborn.service: Failed with result 'timeout'.");
    // A failed unit starts again normally.
    await out('systemctl start stubborn');
    expect(await run('systemctl is-active stubborn')).toMatchObject({ code: 0 });
    await unit('stubborn', [
      '[Service]',
      'ExecStart=/bin/sh -c \'trap "" TERM; while :; do sleep 0.2; done\'',
      'KillSignal=SIGKILL',
    ]);
    await out('systemctl stop stubborn');
    expect(await out('systemctl is-active stubborn || true')).toBe('inactive\n');
  });

  it('marks a unit whose process exits non-zero as failed, with the exit status', async () => {
    await unit('crasher', ['[Service]', "ExecStart=/bin/sh -c 'echo starting; exit 3'"]);
    await out('systemctl start crasher');
    expect(
      await eventually(
        async () => ((await out('systemctl is-active crasher || true')) === 'failed\n' ? true : undefined),
        5000,
        'crasher to fail',
      ),
    ).toBe(true);
    expect(await out('systemctl show -p Result,ExecMainStatus crasher')).toBe(
      'Result=exit-code\nExecMainStatus=3\n',
    );
    const status = await run('systemctl status crasher');
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('Active: failed (Result: exit-code)');
    expect(status.stdout).toContain('starting');
    expect(status.stdout).toContain('crasher.service: Main process exited, code=exited, status=3');
    expect(await run('systemctl is-failed crasher')).toMatchObject({ code: 0, stdout: 'failed\n' });
  });

  it('answers like systemd for unknown units and several units', async () => {
    expect(await run('systemctl start nothere')).toMatchObject({
      code: 5,
      stderr: 'Failed to start nothere.service: Unit nothere.service not found.\n',
    });
    expect(await run('systemctl status nothere')).toMatchObject({ code: 4 });
    expect(await run('systemctl is-active nothere')).toMatchObject({ code: 3, stdout: 'inactive\n' });
    await out('systemctl start demo');
    // is-active: 0 when at least one is active; one line per unit.
    expect(await run('systemctl is-active demo crasher')).toMatchObject({
      code: 0,
      stdout: 'active\nfailed\n',
    });
    expect(await run('systemctl is-active --quiet crasher nothere')).toMatchObject({ code: 3, stdout: '' });
    await out('systemctl stop demo.service crasher');
    expect(await run('systemctl is-active demo')).toMatchObject({ code: 3 });
    expect(await run('systemctl frobnicate demo')).toMatchObject({ code: 1 });
    expect(await run('systemctl daemon-reload')).toMatchObject({ code: 0 });
  });

  it('enables and disables units, and lists the active and failed ones', async () => {
    expect(await run('systemctl is-enabled demo')).toMatchObject({ code: 1, stdout: 'disabled\n' });
    await out('systemctl enable --now demo');
    expect(await run('systemctl is-enabled demo')).toMatchObject({ code: 0, stdout: 'enabled\n' });
    expect(await run('systemctl is-active demo')).toMatchObject({ code: 0 });
    const units = await out('systemctl list-units --no-legend');
    expect(units).toMatch(/^demo\.service\s+loaded\s+active\s+running\s+Demo service$/m);
    // Failed units stay failed (a stop does not clear that) until started again or reset-failed.
    expect(units).toMatch(/^crasher\.service\s+loaded\s+failed\s+failed/m);
    expect(units).not.toMatch(/^(nginx|stubborn)\.service/m);
    expect(await out('systemctl list-units --all --no-legend')).toMatch(
      /^stubborn\.service\s+loaded\s+inactive\s+dead/m,
    );
    await out('systemctl reset-failed crasher');
    expect(await run('systemctl is-active crasher')).toMatchObject({ code: 3, stdout: 'inactive\n' });
    await out('systemctl disable --now demo');
    expect(await run('systemctl is-enabled demo')).toMatchObject({ code: 1, stdout: 'disabled\n' });
    expect(await run('systemctl is-active demo')).toMatchObject({ code: 3 });
  });

  it('sees a PIDFile= daemon started by hand as active, and stops it', async () => {
    await unit('handmade', ['[Service]', 'ExecStart=/bin/sleep 1000', 'PIDFile=/run/handmade.pid']);
    await out("setsid sh -c 'echo $$ > /run/handmade.pid; exec sleep 999' </dev/null >/dev/null 2>&1 &");
    const pid = await eventually(
      async () => (await run('cat /run/handmade.pid')).stdout.trim() || undefined,
      5000,
      'the pid file',
    );
    expect(await run('systemctl is-active handmade')).toMatchObject({ code: 0, stdout: 'active\n' });
    expect(await mainPid('handmade')).toBe(pid);
    await out('systemctl start handmade'); // already active: no second copy
    expect(await mainPid('handmade')).toBe(pid);
    await out('systemctl stop handmade');
    expect(await run(`kill -0 ${pid}`)).toMatchObject({ code: 1 });
    expect(await run('systemctl is-active handmade')).toMatchObject({ code: 3, stdout: 'inactive\n' });
  });
});
