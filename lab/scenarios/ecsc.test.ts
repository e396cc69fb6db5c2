import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScenarioContext } from '../scenario.js';
import { ECSC_VERSIONS, ecscScenario, serviceLog, TOMCAT_HOME } from './ecsc.js';

const LAB_SOURCE = path.resolve(import.meta.dirname, '..');

function tempLab(): ScenarioContext {
  const labDir = mkdtempSync(path.join(tmpdir(), 'lab-ecsc-'));
  return { labDir, sharedDir: path.join(labDir, 'shared'), labSourceDir: LAB_SOURCE };
}

const host = (name: string) => ecscScenario.hosts.find((h) => h.name === name)!;

describe('ecsc scenario', () => {
  it('has two nodes per service from 127.0.10.21, with role and vars service/node', () => {
    expect(
      ecscScenario.hosts.map(
        (h) => `${h.name} ${h.address} ${h.roles.join()} ${h.vars.service} ${h.vars.node}`,
      ),
    ).toEqual([
      'ecsc-1 127.0.10.21 ecsc ecsc 1',
      'ecsc-2 127.0.10.22 ecsc ecsc 2',
      'ecmc-1 127.0.10.23 ecmc ecmc 1',
      'ecmc-2 127.0.10.24 ecmc ecmc 2',
      'schedule-1 127.0.10.25 schedule schedule 1',
      'schedule-2 127.0.10.26 schedule schedule 2',
      'schedule-res-1 127.0.10.27 schedule-res schedule-res 1',
      'schedule-res-2 127.0.10.28 schedule-res schedule-res 2',
    ]);
    expect(host('ecmc-2').vars).toMatchObject({ version_old: '2.4.0', version_new: '2.4.1' });
    expect(serviceLog('ecsc')).toBe('/home/ecsclog/ecsc.log');
    expect(serviceLog('schedule')).toBe('/home/schedulelog/schedule.log');
    expect(serviceLog('schedule-res')).toBe('/home/schedulereslog/scheduleres.log');
  });

  it('boots the agent, then the service the way the seed starts it', () => {
    expect(ecscScenario.boot(host('ecmc-1'))).toEqual([
      '/opt/cloudmonitor/bin/agent.sh start',
      `${TOMCAT_HOME}/bin/startup.sh`,
    ]);
    expect(ecscScenario.boot(host('schedule-res-2'))).toEqual([
      '/opt/cloudmonitor/bin/agent.sh start',
      'cd /home/schedule-res && nohup sh startup.sh >>nohup.out 2>&1 </dev/null &',
    ]);
  });

  it('populates a Tomcat node: Tomcat bound to the node, context on /home/<svc>, old version, stale logs', async () => {
    const ctx = tempLab();
    const root = path.join(ctx.labDir, 'root');
    try {
      await ecscScenario.populate(root, host('ecmc-2'), ctx);
      const tomcat = path.join(root, TOMCAT_HOME);
      const serverXml = readFileSync(path.join(tomcat, 'conf/server.xml'), 'utf8');
      expect(serverXml).toContain('<Server port="8005" address="127.0.10.24" shutdown="SHUTDOWN">');
      expect(serverXml).toMatch(/<Connector port="8080" address="127\.0\.10\.24" protocol="HTTP\/1\.1"/);
      expect(readFileSync(path.join(tomcat, 'conf/Catalina/localhost/ecmc.xml'), 'utf8')).toContain(
        'docBase="/home/ecmc"',
      );
      expect(statSync(path.join(tomcat, 'bin/startup.sh')).mode & 0o111).toBeTruthy();
      expect(readFileSync(path.join(root, 'home/ecmc/WEB-INF/classes/version.properties'), 'utf8')).toContain(
        'app.version=2.4.0',
      );
      expect(readFileSync(path.join(tomcat, 'logs/catalina.out'), 'utf8')).toContain(
        'INFO: Server startup in',
      );
      expect(readFileSync(path.join(root, 'home/ecmclog/ecmc.log'), 'utf8')).toContain(
        'ecmc 2.4.0 (build 20170320) started on ecmc-2',
      );
      expect(statSync(path.join(root, 'opt/jdk1.7.0_80/bin/java')).mode & 0o755).toBe(0o755);
      expect(existsSync(path.join(root, 'opt/cloudmonitor/bin/agent.sh'))).toBe(true);
    } finally {
      rmSync(ctx.labDir, { recursive: true, force: true });
    }
  });

  it('populates a schedule node with a node-local config outside what the tar ships', async () => {
    const ctx = tempLab();
    const root = path.join(ctx.labDir, 'root');
    try {
      await ecscScenario.populate(root, host('schedule-1'), ctx);
      expect(readFileSync(path.join(root, 'home/schedule/config/application.properties'), 'utf8')).toContain(
        'server.address=127.0.10.25',
      );
      expect(readFileSync(path.join(root, 'home/schedule/startup.sh'), 'utf8')).toContain(
        '-jar lib/schedule-1.6.2.jar',
      );
      expect(readFileSync(path.join(root, 'home/schedulelog/schedule.log'), 'utf8')).toContain(
        'Started ScheduleApplication in',
      );
      expect(existsSync(path.join(root, 'home/apache-tomcat-7.0.67'))).toBe(false);
    } finally {
      rmSync(ctx.labDir, { recursive: true, force: true });
    }
  });

  it('builds <svc>.tar of the new release for each service, extracting to <svc>/ in /home', async () => {
    const ctx = tempLab();
    try {
      const { info, pids } = await ecscScenario.startController!(ctx);
      expect(pids).toEqual([]);
      const vars = ecscScenario.inventoryVars!(ctx);
      expect(vars.artifact_dir).toBe(path.join(ctx.labDir, 'artifacts/ecsc'));
      expect(vars.versions).toEqual({
        ecsc: { old: '2.4.0', new: '2.4.1' },
        ecmc: { old: '2.4.0', new: '2.4.1' },
        schedule: { old: '1.6.2', new: '1.6.3' },
        'schedule-res': { old: '1.6.2', new: '1.6.3' },
      });
      const list = (svc: string) =>
        execFileSync('tar', ['-tf', path.join(String(vars.artifact_dir), `${svc}.tar`)], {
          encoding: 'utf8',
        }).split('\n');
      expect(info.ecscTar).toBe(path.join(ctx.labDir, 'artifacts/ecsc/ecsc.tar'));
      expect(list('ecsc')).toContain('ecsc/WEB-INF/classes/version.properties');
      expect(list('ecsc').every((entry) => entry === '' || entry.startsWith('ecsc/'))).toBe(true);
      expect(list('schedule-res')).toContain(
        `schedule-res/lib/schedule-res-${ECSC_VERSIONS['schedule-res'].new.version}.jar`,
      );
      expect(list('schedule')).not.toContain('schedule/config/application.properties');
      const shipped = execFileSync(
        'tar',
        ['-xOf', path.join(String(vars.artifact_dir), 'ecmc.tar'), 'ecmc/WEB-INF/classes/version.properties'],
        {
          encoding: 'utf8',
        },
      );
      expect(shipped).toBe('app.name=ecmc\napp.version=2.4.1\napp.build=20170324\n');
    } finally {
      rmSync(ctx.labDir, { recursive: true, force: true });
    }
  });
});
