/**
 * Seed 000 on a site where nobody logs in as root (issue 12): the lab's hosts refuse root on port
 * 22 and have the login `deploy`, with sudo without a password on web and with one on integration
 * and backup. The upgrade runs through examples/comindware/inventory.become.lab.yml (`become:
 * true`), one sudo per host, under user + integration traffic.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMW_VERSIONS } from '../../lab/scenarios/comindware.js';
import { labSsh } from '../../lab/ssh.js';
import { sudoPasswordFile } from '../../lab/sudo-login.js';
import { journalEvents, runIdFrom } from '../../test/cli.js';
import { comindwareLab, expectNoFailures, HOSTS, NGINX, SELF } from './lab-support.js';

const PREFIX = '127.0.49';
const lab = comindwareLab(PREFIX, { sudoLogin: { nopasswd: ['web'] } });

/** The example inventory, pointed at this test's lab (addresses and key folder). */
function becomeInventory(): string {
  const text = readFileSync(join(import.meta.dirname, 'inventory.become.lab.yml'), 'utf8')
    .replaceAll('127.0.10.', `${PREFIX}.`)
    .replaceAll('../../.lab/comindware', lab.labDir);
  const file = join(lab.labDir, 'inventory.become.yml');
  writeFileSync(file, text);
  return file;
}

describe('seed 000 with become (deploy + sudo, root refused)', { timeout: 300_000 }, () => {
  let inventory = '';
  let password = '';
  beforeAll(async () => {
    await lab.fresh();
    inventory = becomeInventory();
    password = readFileSync(sudoPasswordFile(lab.labDir), 'utf8').trim();
  }, 120_000);
  afterAll(() => lab.down(), 60_000);

  it('the lab is a real non-root site: root is refused on port 22, deploy logs in and needs sudo', async () => {
    const sshConfig = join(lab.labDir, 'ssh_config');
    const root = await labSsh(sshConfig, 'web', 'true', { extraOptions: ['-p', '22'] });
    expect(root.code).toBe(255);
    expect(root.stderr).toMatch(/Permission denied/);
    const deploy = await labSsh(sshConfig, 'integration', 'id -un; sudo -n true', {
      extraOptions: ['-p', '22', '-l', 'deploy'],
    });
    expect(deploy.stdout.trim()).toBe('deploy');
    expect(deploy.code).not.toBe(0);
  });

  it('without the sudo password: refused before anything changes, naming each host that needs it', async () => {
    const nginxBefore = await Promise.all(HOSTS.map((h) => lab.ssh.out(h, `cat ${NGINX}`)));
    const run = await lab.apply(CMW_VERSIONS.holdLock, undefined, { inventory });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/integration \(as root\): .*sudo asks for a password and none was given/);
    expect(run.stderr).toMatch(/backup \(as root\): .*sudo asks for a password/);
    expect(run.stderr).toContain('CUTOVER_BECOME_PASSWORD');
    // web needs none (NOPASSWD): it is not named.
    expect(run.stderr).not.toMatch(/^web/m);
    for (const host of HOSTS) expect((await lab.version(host)).version).toBe(CMW_VERSIONS.installed);
    expect(await Promise.all(HOSTS.map((h) => lab.ssh.out(h, `cat ${NGINX}`)))).toEqual(nginxBefore);
  });

  it('upgrades every node as deploy through sudo under load with 0 failed requests, and rolls back', async () => {
    const traffic = lab.load();
    const run = await lab.apply(CMW_VERSIONS.holdLock, undefined, {
      inventory,
      env: { CUTOVER_BECOME_PASSWORD: password },
    });
    if (run.code !== 0) {
      await traffic.stop();
      throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    }
    const runId = runIdFrom(run.stdout);
    for (const host of HOSTS) expect((await lab.version(host)).version).toBe(CMW_VERSIONS.holdLock);
    expect(await lab.answeringNodes()).toEqual(SELF);

    // The run's files on the hosts are root's (the steps ran as root), its nginx files still root's.
    for (const host of HOSTS) {
      expect((await lab.ssh.out(host, `stat -c %U /var/tmp/cutover/${runId}`)).trim()).toBe('root');
      expect((await lab.ssh.out(host, `stat -c %U ${NGINX}`)).trim()).toBe('root');
    }
    // The password is nowhere: not in the output, not in the journal.
    const journal = readFileSync(join(lab.stateDir, 'runs', runId, 'events.jsonl'), 'utf8');
    for (const text of [run.stdout, run.stderr, journal]) expect(text).not.toContain(password);
    expect(journalEvents(lab.stateDir, runId).at(-1)).toMatchObject({
      type: 'run.finished',
      outcome: 'succeeded',
    });

    // The rollback reads the password from a file instead (--become-password-file).
    const back = await lab.cli([
      '--become-password-file',
      sudoPasswordFile(lab.labDir),
      'rollback',
      runId,
      '--yes',
    ]);
    const report = await traffic.stop();
    if (back.code !== 0) throw new Error(`rollback exit ${back.code}\n${back.stdout}\n${back.stderr}`);
    for (const host of HOSTS) expect((await lab.version(host)).version).toBe(CMW_VERSIONS.installed);
    expect(await lab.answeringNodes()).toEqual(SELF);
    expectNoFailures(report);
  });
});
