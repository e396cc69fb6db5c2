// The Comindware simulator run for real in a throwaway lab host (namespaces, overlays, the lab's
// systemctl stand-in, nginx), driven the way the seed's operator drives the real product.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NGINX_UNIT } from '../host-files.js';
import type { LabHostSpec, ScenarioContext } from '../scenario.js';
import {
  buildCmwDistribution,
  CMW_VERSIONS,
  cmwArchiveName,
  cmwDistFolder,
  cmwPayload,
  comindwareScenario,
} from '../scenarios/comindware.js';
import { Sandbox, until } from './sandbox.js';

const LAB_SOURCE = path.resolve(import.meta.dirname, '..');
const LOGS = 'var/log/comindware/cmw';
const CONFIG = '/usr/share/comindware/configs/instance/cmw.yml';
const LOCK = '/var/lib/comindware/cmw/Database/hold.lock';
// Faster than the lab's defaults; set the way an operator would: in the unit's Environment.
const FAST = {
  CMW_STARTUP_MS: '50',
  CMW_HEARTBEAT_MS: '300',
  CMW_REBALANCE_DELAY_MS: '400',
  CMW_LOAD_MS: '200',
  CMW_CRASH_AFTER_MS: '700',
};

const boxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(boxes.splice(0).map((b) => b.stop()));
});

interface Setup {
  /** Versions to install before boot (as version_install.sh would have). */
  installed?: string[];
  /** Instance version and database schema at boot. */
  version?: string;
  /** Distribution archives to place in /root/distr. */
  archives?: string[];
  unitEnv?: Record<string, string>;
}

/** A populated comindware host on its own address, not yet started. */
async function cmwHost(address: string, setup: Setup = {}): Promise<Sandbox> {
  const root = Sandbox.prepare();
  const labDir = path.join(path.dirname(root), 'lab');
  mkdirSync(labDir, { recursive: true });
  const ctx: ScenarioContext = { labDir, sharedDir: path.join(labDir, 'shared'), labSourceDir: LAB_SOURCE };
  const host: LabHostSpec = { name: 'web', address, roles: ['web'], vars: {} };
  // What the lab's host machinery adds before populate: the nginx unit, no Debian default site.
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
  writeFileSync(path.join(root, 'etc/systemd/system/nginx.service'), NGINX_UNIT);
  mkdirSync(path.join(root, 'etc/nginx/sites-enabled'), { recursive: true });
  execFileSync('mknod', [path.join(root, 'etc/nginx/sites-enabled/default'), 'c', '0', '0']);
  await comindwareScenario.populate(root, host, ctx);
  for (const version of setup.installed ?? []) {
    const dir = path.join(root, 'var/www/.cmw_version', version);
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(cmwPayload(version))) writeFileSync(path.join(dir, name), text);
  }
  if (setup.version) {
    writeFileSync(path.join(root, 'var/lib/comindware/cmw/version'), `${setup.version}\n`);
    writeFileSync(path.join(root, 'var/lib/comindware/cmw/Database/schema.version'), `${setup.version}\n`);
  }
  for (const version of setup.archives ?? []) {
    const archive = await buildCmwDistribution(ctx, version);
    mkdirSync(path.join(root, 'root/distr'), { recursive: true });
    copyFileSync(archive, path.join(root, 'root/distr', cmwArchiveName(version)));
  }
  const unit = path.join(root, 'etc/systemd/system/comindwarecmw.service');
  let text = readFileSync(unit, 'utf8');
  for (const [key, value] of Object.entries({ ...FAST, ...setup.unitEnv })) {
    const line = `Environment=${key}=${value}`;
    text = text.includes(`Environment=${key}=`)
      ? text.replace(new RegExp(`^Environment=${key}=.*$`, 'm'), line)
      : text.replace('KillSignal=', `${line}\nKillSignal=`);
  }
  writeFileSync(unit, text);
  const box = await Sandbox.start('web', root);
  boxes.push(box);
  bootMarks.set(box, mark(box));
  return box;
}

/** Sizes of the comindware log files now: lines after this mark are "new" (what wait.log must do). */
function mark(box: Sandbox): Record<string, number> {
  const dir = path.join(box.root, LOGS);
  return Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(path.join(dir, f)).size]));
}

/** The log sizes when the host booted: everything before is populate's stale history. */
const bootMarks = new WeakMap<Sandbox, Record<string, number>>();

/** Text written to `kind` logs (any date) after `since` (default: since the host booted). */
function newText(box: Sandbox, kind: 'heartbeat' | 'igniteClient', since = bootMarks.get(box)!): string {
  const dir = path.join(box.root, LOGS);
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${kind}_`))
    .sort()
    .map((f) => box.read(path.join(LOGS, f)).slice(since[f] ?? 0))
    .join('');
}

async function http(box: Sandbox, url: string): Promise<{ status: number; headers: string; body: string }> {
  const r = await box.exec(`curl -s -i --max-time 5 ${url}`);
  const [head = '', ...rest] = r.stdout.split('\r\n\r\n');
  return {
    status: Number(/^HTTP\/\S+ (\d+)/.exec(head)?.[1] ?? 0),
    headers: head,
    body: rest.join('\r\n\r\n'),
  };
}

/** A property of the unit, from the systemctl stand-in (ExecMainStatus = exit code, Result). */
async function unitProperty(box: Sandbox, property: 'ExecMainStatus' | 'Result'): Promise<string> {
  return (await box.run(`systemctl show -p ${property} --value comindwarecmw`)).trim();
}

async function unitState(box: Sandbox, unit = 'comindwarecmw'): Promise<string> {
  return (await box.exec(`systemctl is-active ${unit}`)).stdout.trim();
}

const removeLegacyDirectives = `sed -i -e '/^isContainerEnvironment:/d' -e '/^clusterNodes:/,/^[^ ]/{/^clusterNodes:/d;/^  - /d}' ${CONFIG}`;

describe('comindware simulator', () => {
  it('boots the installed version behind nginx: login page, /async and version on both locations', async () => {
    const box = await cmwHost('127.0.77.10');
    for (const cmd of comindwareScenario.boot(comindwareScenario.hosts[0]!)) await box.run(cmd);
    await until(
      async () => (await http(box, 'http://127.0.77.10:8080/')).status === 200,
      'login page on :8080',
    );
    const login = await http(box, 'http://127.0.77.10/');
    expect(login.status).toBe(200);
    expect(login.body).toMatch(/<title>Login[^<]*<\/title>/);
    expect(login.headers).toMatch(/X-Cmw-Version: 5\.0\.23500\.0/);
    const asyncReply = await http(box, 'http://127.0.77.10/async');
    expect(asyncReply.status).toBe(200);
    const version = JSON.parse((await http(box, 'http://127.0.77.10/api/version')).body);
    expect(version).toMatchObject({
      instance: 'cmw',
      version: CMW_VERSIONS.installed,
      node: 'web',
      state: 'running',
    });
    for (const unit of ['apigatewaycmw', 'comindwarecmw', 'adapterhostcmw'])
      expect(await unitState(box, unit)).toBe('active');
  });

  it('follows the seed on the hold.lock version: hold, request, rebalancing, login; a backup restores the old version', async () => {
    const v = CMW_VERSIONS.holdLock;
    const box = await cmwHost('127.0.77.11', { archives: [v] });
    await box.run('systemctl start apigatewaycmw comindwarecmw adapterhostcmw');
    await until(async () => (await http(box, 'http://127.0.77.11:8080/')).status === 200, 'old version up');

    const scripts = `/root/distr/${cmwDistFolder(v)}/scripts`;
    await box.run(`cd /root/distr && tar -xf ${cmwArchiveName(v)}`);
    expect(await box.run(`cd ${scripts} && bash version_install.sh`)).toContain(`Version ${v} installed.`);
    const versions = await box.run(`cd ${scripts} && bash version_list.sh`);
    expect(versions).toMatch(
      new RegExp(`${CMW_VERSIONS.installed}\\s+/var/www/.cmw_version/${CMW_VERSIONS.installed}`),
    );
    expect(versions).toContain(`/var/www/.cmw_version/${v}`);
    expect(await box.run(`cd ${scripts} && bash instance_list.sh`)).toMatch(
      /cmw\s+5\.0\.23500\.0\s+comindwarecmw\s+active/,
    );

    await box.run(
      `cp -a /var/lib/comindware/cmw /root/cmw-backup && cp -a ${CONFIG} /root/cmw.yml.bak && ${removeLegacyDirectives} && ` +
        `printf '# Не загружает платформу пока существует файл db.workDir/hold.lock\\ndb.holdLock: true\\n' >> ${CONFIG}`,
    );
    await box.run(
      'systemctl stop apigatewaycmw && systemctl stop comindwarecmw && systemctl stop adapterhostcmw',
    );
    const before = mark(box);
    const upgrade = await box.run(
      `cd ${scripts} && bash instance_upgrade.sh -n=cmw -vp=/var/www/.cmw_version/${v}`,
    );
    expect(upgrade).toContain(`created ${LOCK}`);
    expect(await unitState(box)).toBe('active');

    // Two hold lines prove time passed; without a request there is no rebalancing.
    await until(
      () => newText(box, 'heartbeat', before).split(`waiting for removal of ${LOCK}`).length > 2,
      'two hold.lock lines',
    );
    expect(newText(box, 'igniteClient', before)).not.toContain('Skipping rebalancing');
    const holding = await http(box, 'http://127.0.77.11:8080/');
    expect(holding.status).toBe(503);
    expect(holding.headers).toContain(`X-Cmw-Version: ${v}`);
    await until(
      () =>
        newText(box, 'igniteClient', before).match(/ INFO {6}Skipping rebalancing \(nothing scheduled\) /),
      'rebalancing',
    );
    expect((await http(box, 'http://127.0.77.11:8080/')).status).toBe(503);

    await box.run(`rm ${LOCK}`);
    await until(async () => (await http(box, 'http://127.0.77.11:8080/')).status === 200, 'login page');
    expect((await http(box, 'http://127.0.77.11:8080/')).body).toContain('<title>Login');
    expect(newText(box, 'heartbeat', before)).toContain(`${LOCK} removed`);
    const downgrade = await box.exec(
      `cd ${scripts} && bash instance_upgrade.sh -n=cmw -vp=/var/www/.cmw_version/${CMW_VERSIONS.installed}`,
    );
    expect(downgrade.code).toBe(1);
    expect(downgrade.stderr).toContain(
      `instance cmw is at ${v}, newer than ${CMW_VERSIONS.installed}; downgrades are not supported`,
    );

    // Rollback: stop, restore /var/lib/comindware/cmw and the config, start.
    await box.run(
      `systemctl stop apigatewaycmw comindwarecmw adapterhostcmw && rm -rf /var/lib/comindware/cmw && ` +
        `cp -a /root/cmw-backup /var/lib/comindware/cmw && cp -a /root/cmw.yml.bak ${CONFIG} && ` +
        'systemctl start apigatewaycmw comindwarecmw adapterhostcmw',
    );
    await until(async () => (await http(box, 'http://127.0.77.11:8080/')).status === 200, 'old version back');
    expect(JSON.parse((await http(box, 'http://127.0.77.11:8080/api/version')).body).version).toBe(
      CMW_VERSIONS.installed,
    );
  }, 30_000);

  it('refuses to start a newer version while the config has directives that version removed', async () => {
    const box = await cmwHost('127.0.77.12', {
      installed: [CMW_VERSIONS.fileActivation],
      version: CMW_VERSIONS.fileActivation,
    });
    await box.run('systemctl start comindwarecmw');
    await until(async () => (await unitState(box)) === 'failed', 'unit failed');
    expect(await unitProperty(box, 'ExecMainStatus')).toBe('1');
    const log = newText(box, 'heartbeat');
    expect(log).toMatch(
      /ERROR {5}Configuration \S+cmw\.yml is not supported by version 5\.0\.23700\.0: directive "isContainerEnvironment" \(removed in 5\.0\.23654\.0\), "clusterNodes"/,
    );
  });

  it('honours file activation on the middle era, and the hold-lock era refuses the file-activation directives', async () => {
    const box = await cmwHost('127.0.77.13', {
      installed: [CMW_VERSIONS.fileActivation, CMW_VERSIONS.holdLock],
      version: CMW_VERSIONS.fileActivation,
    });
    const activation = '/var/www/.cmw_environment/cmw';
    await box.run(
      `${removeLegacyDirectives} && printf 'db.waitForClusterActivation: true\\ndb.waitForFileActivation: ${activation}\\n' >> ${CONFIG}`,
    );
    await box.run('systemctl start comindwarecmw');
    await until(
      () =>
        newText(box, 'heartbeat').includes(
          `Waiting for cluster activation: file ${activation} does not exist yet`,
        ),
      'activation wait',
    );
    expect((await http(box, 'http://127.0.77.13:8080/')).status).toBe(503);
    await box.run(`touch ${activation}`);
    await until(async () => (await http(box, 'http://127.0.77.13:8080/')).status === 200, 'activated');

    await box.run(
      `systemctl stop comindwarecmw && echo ${CMW_VERSIONS.holdLock} > /var/lib/comindware/cmw/version && ` +
        `echo ${CMW_VERSIONS.holdLock} > /var/lib/comindware/cmw/Database/schema.version && systemctl start comindwarecmw`,
    );
    await until(async () => (await unitState(box)) === 'failed', 'unit failed');
    expect(newText(box, 'heartbeat')).toContain(
      'directive "db.waitForClusterActivation" (removed in 5.0.24000.0), "db.waitForFileActivation" (removed in 5.0.24000.0)',
    );
  });

  it('has stale hold.lock and rebalancing lines of today that fool a naive tail | grep', async () => {
    const box = await cmwHost('127.0.77.14', {
      installed: [CMW_VERSIONS.holdLock],
      version: CMW_VERSIONS.holdLock,
    });
    await box.run(`${removeLegacyDirectives} && echo 'db.holdLock: true' >> ${CONFIG} && touch ${LOCK}`);
    const naive = (file: string, pattern: string) =>
      box
        .exec(`tail -n 50 /${LOGS}/${file}_$(date +%F).log | grep -c '${pattern}'`)
        .then((r) => Number(r.stdout.trim()));
    const startedAt = new Date();
    expect(await naive('heartbeat', 'hold.lock')).toBeGreaterThan(0);
    expect(await naive('igniteClient', 'Skipping rebalancing')).toBeGreaterThan(0);
    const stale = box.read(`${LOGS}/igniteClient_${(await box.run('date +%F')).trim()}.log`).split('\n')[0]!;
    expect(new Date(stale.slice(0, 23).replace(' ', 'T')).getTime()).toBeLessThan(startedAt.getTime());

    const before = mark(box);
    await box.run('systemctl start comindwarecmw');
    await until(() => newText(box, 'heartbeat', before).includes('waiting for removal'), 'hold');
    // The naive check says "rebalanced" although this start has not rebalanced at all.
    expect(await naive('igniteClient', 'Skipping rebalancing')).toBeGreaterThan(0);
    expect(newText(box, 'igniteClient', before)).not.toContain('Skipping rebalancing');
  });

  it('writes to the next day’s files after midnight of the host clock', async () => {
    const now = new Date();
    const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime();
    const offset = midnight - 1500 - Date.now();
    const box = await cmwHost('127.0.77.15', {
      unitEnv: { LAB_CLOCK_OFFSET_MS: String(offset), CMW_RUNNING_HEARTBEAT_MS: '200' },
    });
    const before = mark(box);
    await box.run('systemctl start comindwarecmw');
    const day = (ms: number) => {
      const d = new Date(ms);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    };
    const next = `heartbeat_${day(midnight)}.log`;
    await until(() => box.read(`${LOGS}/${next}`).includes('Heartbeat: instance cmw'), `lines in ${next}`);
    const last = `heartbeat_${day(midnight - 1000)}.log`;
    const lastDay = box.read(`${LOGS}/${last}`).slice(before[last] ?? 0);
    expect(lastDay).toContain('Starting Comindware Business Application Platform');
    expect(box.read(`${LOGS}/${next}`)).not.toContain('Starting Comindware');
  });
});

describe('comindware fault knobs', () => {
  it('fail-start: exits 1 during startup and says why', async () => {
    const box = await cmwHost('127.0.77.20');
    await box.run(
      'mkdir -p /etc/lab/faults && touch /etc/lab/faults/fail-start && systemctl start comindwarecmw',
    );
    await until(async () => (await unitState(box)) === 'failed', 'failed');
    expect(await unitProperty(box, 'ExecMainStatus')).toBe('1');
    expect(newText(box, 'heartbeat')).toMatch(/ERROR {5}Platform start failed: .*\(lab fault fail-start\)/);
  });

  it('no-rebalance: a request starts the exchange but the rebalancing line never comes', async () => {
    const box = await cmwHost('127.0.77.21', {
      installed: [CMW_VERSIONS.holdLock],
      version: CMW_VERSIONS.holdLock,
    });
    await box.run(
      `${removeLegacyDirectives} && echo 'db.holdLock: true' >> ${CONFIG} && touch ${LOCK} && ` +
        'mkdir -p /etc/lab/faults && touch /etc/lab/faults/no-rebalance && systemctl start comindwarecmw',
    );
    const before = mark(box);
    await until(() => newText(box, 'heartbeat').includes('waiting for removal'), 'hold');
    await http(box, 'http://127.0.77.21:8080/');
    await until(
      () =>
        newText(box, 'igniteClient', before).split('Still waiting for initial partition map exchange')
          .length > 2,
      'exchange warnings',
    );
    expect(newText(box, 'igniteClient', before)).toContain('Started exchange init');
    expect(newText(box, 'igniteClient', before)).not.toContain('Skipping rebalancing');
  });

  it('crash-after-start: dies a few seconds after the platform reported loaded', async () => {
    const box = await cmwHost('127.0.77.22');
    await box.run(
      'mkdir -p /etc/lab/faults && touch /etc/lab/faults/crash-after-start && systemctl start comindwarecmw',
    );
    await until(async () => (await unitState(box)) === 'failed', 'crashed');
    const log = newText(box, 'heartbeat');
    expect(log.indexOf('FATAL     Unhandled exception')).toBeGreaterThan(
      log.lastIndexOf('Platform loaded in'),
    );
    expect(log.lastIndexOf('Platform loaded in')).toBeGreaterThan(0);
    expect(await unitProperty(box, 'ExecMainStatus')).toBe('134');
  });

  it('slow-start: loading takes the knob’s extra seconds', async () => {
    const box = await cmwHost('127.0.77.23');
    await box.run(
      'mkdir -p /etc/lab/faults && echo 1.5 > /etc/lab/faults/slow-start && systemctl start comindwarecmw',
    );
    const loaded = await until(() => /Platform loaded in (\d+) ms/.exec(newText(box, 'heartbeat')), 'loaded');
    expect(Number(loaded?.[1])).toBeGreaterThanOrEqual(1500 + Number(FAST.CMW_LOAD_MS));
  });

  it('ignore-term: SIGTERM is logged and ignored, so systemctl stop has to kill it', async () => {
    const box = await cmwHost('127.0.77.24');
    await box.run(
      `sed -i 's/^TimeoutStopSec=.*/TimeoutStopSec=1/' /etc/systemd/system/comindwarecmw.service`,
    );
    await box.run('systemctl start comindwarecmw');
    await until(() => newText(box, 'heartbeat').includes('Platform loaded'), 'loaded');
    await box.run(
      'mkdir -p /etc/lab/faults && touch /etc/lab/faults/ignore-term && systemctl stop comindwarecmw',
    );
    expect(newText(box, 'heartbeat')).toContain(
      'WARN      SIGTERM received and ignored (lab fault ignore-term)',
    );
    expect(newText(box, 'heartbeat')).not.toContain('Platform stopped');
    expect(await unitProperty(box, 'Result')).toBe('timeout');
  });
});
