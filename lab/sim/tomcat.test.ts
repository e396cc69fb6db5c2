// The ecsc/ecmc Tomcat simulator run for real in a throwaway lab host, driven with the seed's
// own commands (startup.sh, ps -ef | grep java, kill -9, cp -R, tar xvf).
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LabHostSpec } from '../scenario.js';
import { buildServiceTar, ecscScenario, TOMCAT_HOME } from '../scenarios/ecsc.js';
import { Sandbox, until } from './sandbox.js';

const LAB_SOURCE = path.resolve(import.meta.dirname, '..');
const CATALINA_OUT = 'home/apache-tomcat-7.0.67/logs/catalina.out';
const APP_LOG = 'home/ecsclog/ecsc.log';
/** Short timings, passed the way any environment reaches Tomcat: through startup.sh's environment. */
const FAST = { LAB_TOMCAT_INIT_MS: '50', LAB_TOMCAT_DEPLOY_MS: '200', LAB_CRASH_AFTER_MS: '700' };

const boxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(boxes.splice(0).map((b) => b.stop()));
});

/** An ecsc-1 host on its own address (populated, with ecsc.tar uploaded to /home), not yet booted. */
async function ecscHost(address: string): Promise<{ box: Sandbox; host: LabHostSpec }> {
  const root = Sandbox.prepare();
  const labDir = path.join(path.dirname(root), 'lab');
  mkdirSync(labDir, { recursive: true });
  const host: LabHostSpec = { name: 'ecsc-1', address, roles: ['ecsc'], vars: { service: 'ecsc', node: 1 } };
  await ecscScenario.populate(root, host, {
    labDir,
    sharedDir: path.join(labDir, 'shared'),
    labSourceDir: LAB_SOURCE,
  });
  copyFileSync(await buildServiceTar({ labDir }, 'ecsc'), path.join(root, 'home', 'ecsc.tar'));
  const box = await Sandbox.start(host.name, root);
  boxes.push(box);
  return { box, host };
}

async function boot(box: Sandbox, host: LabHostSpec): Promise<void> {
  for (const cmd of ecscScenario.boot(host)) await box.run(cmd, FAST);
}

/** What a reader of the file sees after `since` characters (wait.log's offset). */
function textAfter(box: Sandbox, file: string, since: number): string {
  return box.read(file).slice(since);
}

async function tomcatPids(box: Sandbox): Promise<string[]> {
  const ps = await box.run('ps -ef | grep java | grep -v grep || true');
  return ps
    .split('\n')
    .filter((l) => l.includes('org.apache.catalina.startup.Bootstrap start'))
    .map((l) => l.trim().split(/\s+/)[1]!);
}

async function version(box: Sandbox, address: string): Promise<string> {
  return (await box.exec(`curl -s --max-time 5 http://${address}:8080/ecsc/version`)).stdout.trim();
}

describe('Tomcat simulator (ecsc, ecmc)', () => {
  it('startup.sh starts a java process next to the monitoring agent and serves the version in the tree', async () => {
    const { box, host } = await ecscHost('127.0.78.21');
    const since = box.read(CATALINA_OUT).length;
    const appSince = box.read(APP_LOG).length;
    await boot(box, host);
    await until(
      () => textAfter(box, CATALINA_OUT, since).match(/INFO: Server startup in \d+ ms/),
      'Server startup',
    );
    const java = (await box.run('ps -ef | grep java | grep -v grep')).trim().split('\n');
    expect(java).toHaveLength(2);
    expect(
      java.some((l) => l.includes('/opt/jdk1.8.0_121/bin/java -Xms32m -Xmx64m -cp /opt/cloudmonitor')),
    ).toBe(true);
    expect(java.find((l) => l.includes('Bootstrap'))).toMatch(
      new RegExp(
        `/opt/jdk1\\.7\\.0_80/bin/java -Djava\\.util\\.logging\\.config\\.file=${TOMCAT_HOME}/conf/logging\\.properties .* -Dcatalina\\.base=${TOMCAT_HOME} .* org\\.apache\\.catalina\\.startup\\.Bootstrap start$`,
      ),
    );
    expect((await box.run('pgrep -x java')).trim().split('\n')).toHaveLength(2);
    expect(await version(box, '127.0.78.21')).toBe('ecsc 2.4.0 (build 20170320)');
    expect(await box.run('curl -s http://127.0.78.21:8080/ecsc/')).toContain('js/app.js?t=20170320');
    expect(textAfter(box, APP_LOG, appSince)).toMatch(
      /INFO {2}\[localhost-startStop-1\] com\.cloud\.ecsc\.web\.StartupListener - ecsc 2\.4\.0 \(build 20170320\) started on ecsc-1\n$/,
    );
  });

  it('upgrades with the seed’s commands; the seed’s cp -R rollback keeps the new version, an exact restore does not', async () => {
    const { box, host } = await ecscHost('127.0.78.22');
    await boot(box, host);
    await until(async () => (await version(box, '127.0.78.22')).includes('2.4.0'), 'old version up');

    const [pid] = await tomcatPids(box);
    await box.run(
      `kill -9 ${pid} && cp -R /home/ecsc /home/ecsc_20170324 && cd /home && tar xvf ecsc.tar >/dev/null`,
    );
    let since = box.read(CATALINA_OUT).length;
    await box.run(`${TOMCAT_HOME}/bin/startup.sh`, FAST);
    await until(() => textAfter(box, CATALINA_OUT, since).includes('INFO: Server startup in'), 'restart');
    expect(await version(box, '127.0.78.22')).toBe('ecsc 2.4.1 (build 20170324)');
    expect(await box.run('curl -s http://127.0.78.22:8080/ecsc/index.html')).toContain(
      'js/disk-detail.js?t=20170324',
    );

    // The seed's rollback copies the backup *into* the existing folder.
    await box.run(`kill -9 ${(await tomcatPids(box))[0]} && cp -R /home/ecsc_20170324 /home/ecsc`);
    since = box.read(CATALINA_OUT).length;
    await box.run(`${TOMCAT_HOME}/bin/startup.sh`, FAST);
    await until(() => textAfter(box, CATALINA_OUT, since).includes('INFO: Server startup in'), 'restart');
    expect(await box.run('test -d /home/ecsc/ecsc_20170324 && echo nested')).toBe('nested\n');
    expect(await version(box, '127.0.78.22')).toBe('ecsc 2.4.1 (build 20170324)');

    await box.run(
      `kill -9 ${(await tomcatPids(box))[0]} && rm -rf /home/ecsc && cp -a /home/ecsc_20170324 /home/ecsc`,
    );
    since = box.read(CATALINA_OUT).length;
    await box.run(`${TOMCAT_HOME}/bin/startup.sh`, FAST);
    await until(() => textAfter(box, CATALINA_OUT, since).includes('INFO: Server startup in'), 'restart');
    expect(await version(box, '127.0.78.22')).toBe('ecsc 2.4.0 (build 20170320)');
  });

  it('shutdown.sh stops it through the shutdown port; a second startup.sh reports startup, then dies on the port', async () => {
    const { box, host } = await ecscHost('127.0.78.23');
    await boot(box, host);
    await until(async () => (await version(box, '127.0.78.23')).includes('2.4.0'), 'up');
    const [first] = await tomcatPids(box);

    const since = box.read(CATALINA_OUT).length;
    await box.run(`${TOMCAT_HOME}/bin/startup.sh`, FAST);
    await until(
      () => textAfter(box, CATALINA_OUT, since).includes('StandardServer.await: create[127.0.78.23:8005]'),
      'second dies',
    );
    const second = textAfter(box, CATALINA_OUT, since);
    expect(second).toContain('java.net.BindException: Address already in use 127.0.78.23:8080');
    expect(second).toContain('INFO: Server startup in'); // the trap: a naive wait sees "started"
    await until(async () => (await tomcatPids(box)).length === 1, 'second instance gone');
    expect(await tomcatPids(box)).toEqual([first]);

    const stopped = box.read(CATALINA_OUT).length;
    await box.run(`${TOMCAT_HOME}/bin/shutdown.sh`);
    await until(async () => (await tomcatPids(box)).length === 0, 'stopped');
    expect(textAfter(box, CATALINA_OUT, stopped)).toContain('INFO: Stopping service Catalina');
    const again = await box.exec(`${TOMCAT_HOME}/bin/shutdown.sh`);
    expect(again.stdout).toContain('SEVERE: Could not contact 127.0.78.23:8005. Tomcat may not be running.');
  });
});

describe('Tomcat fault knobs', () => {
  it('fail-start: the JVM exits 1 during startup and never reports startup', async () => {
    const { box, host } = await ecscHost('127.0.78.30');
    await box.run('mkdir -p /etc/lab/faults && touch /etc/lab/faults/fail-start');
    const since = box.read(CATALINA_OUT).length;
    const appSince = box.read(APP_LOG).length;
    await boot(box, host);
    await until(() => textAfter(box, CATALINA_OUT, since).includes('(lab fault fail-start)'), 'failure');
    await until(async () => (await tomcatPids(box)).length === 0, 'exited');
    expect(textAfter(box, CATALINA_OUT, since)).not.toContain('Server startup in');
    expect(textAfter(box, APP_LOG, appSince)).toContain('Context initialization failed');
  });

  it('crash-after-start: dies a few seconds after "Server startup"', async () => {
    const { box, host } = await ecscHost('127.0.78.31');
    await box.run('mkdir -p /etc/lab/faults && touch /etc/lab/faults/crash-after-start');
    const since = box.read(CATALINA_OUT).length;
    await boot(box, host);
    await until(
      () => textAfter(box, CATALINA_OUT, since).includes('A fatal error has been detected'),
      'crash',
    );
    const text = textAfter(box, CATALINA_OUT, since);
    expect(text.indexOf('A fatal error')).toBeGreaterThan(text.indexOf('INFO: Server startup in'));
    await until(async () => (await tomcatPids(box)).length === 0, 'gone');
  });

  it('slow-start: startup takes the extra seconds', async () => {
    const { box, host } = await ecscHost('127.0.78.32');
    await box.run('mkdir -p /etc/lab/faults && echo 1 > /etc/lab/faults/slow-start');
    const since = box.read(CATALINA_OUT).length;
    await boot(box, host);
    const started = await until(
      () => /INFO: Server startup in (\d+) ms/.exec(textAfter(box, CATALINA_OUT, since)),
      'startup',
    );
    expect(Number(started?.[1])).toBeGreaterThanOrEqual(1000 + Number(FAST.LAB_TOMCAT_DEPLOY_MS));
  });

  it('hold-start: startup waits, marked as held, until the knob is cleared (a barrier, no timing)', async () => {
    const { box, host } = await ecscHost('127.0.78.34');
    await box.run('mkdir -p /etc/lab/faults && touch /etc/lab/faults/hold-start');
    const since = box.read(CATALINA_OUT).length;
    await boot(box, host);
    await until(
      () =>
        textAfter(box, CATALINA_OUT, since).includes(
          'startup held until the lab fault hold-start is cleared',
        ),
      'held',
    );
    const [pid] = await tomcatPids(box);
    expect((await box.run('cat /etc/lab/faults/hold-start.held')).trim()).toBe(String(pid));
    expect(textAfter(box, CATALINA_OUT, since)).not.toContain('Server startup in');
    expect(await version(box, '127.0.78.34')).not.toContain('2.4.0');
    await box.run('rm /etc/lab/faults/hold-start');
    await until(async () => (await version(box, '127.0.78.34')).includes('2.4.0'), 'up after release');
    expect((await box.exec('test -e /etc/lab/faults/hold-start.held')).code).toBe(1);
  });

  it('ignore-term: kill -15 is logged and ignored; kill -9 still works', async () => {
    const { box, host } = await ecscHost('127.0.78.33');
    await boot(box, host);
    await until(async () => (await version(box, '127.0.78.33')).includes('2.4.0'), 'up');
    const [pid] = await tomcatPids(box);
    await box.run(`mkdir -p /etc/lab/faults && touch /etc/lab/faults/ignore-term && kill -15 ${pid}`);
    await until(
      () => box.read(CATALINA_OUT).includes('WARNING: SIGTERM ignored (lab fault ignore-term)'),
      'ignored',
    );
    expect(await tomcatPids(box)).toEqual([pid]);
    await box.run(`kill -9 ${pid}`);
    await until(async () => (await tomcatPids(box)).length === 0, 'killed');
  });
});
