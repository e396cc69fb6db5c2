// The schedule / schedule-res simulator run for real in a throwaway lab host, started and stopped
// with the seed's commands (`cd /home/<svc>; nohup sh startup.sh &`, `kill -15 <PID>`).
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LabHostSpec } from '../scenario.js';
import { buildServiceTar, type EcscService, ecscScenario, serviceLog } from '../scenarios/ecsc.js';
import { Sandbox, until } from './sandbox.js';

const LAB_SOURCE = path.resolve(import.meta.dirname, '..');
const FAST = { LAB_SCHEDULE_INIT_MS: '50', LAB_SCHEDULE_START_MS: '200', LAB_CRASH_AFTER_MS: '700' };

const boxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(boxes.splice(0).map((b) => b.stop()));
});

async function scheduleHost(address: string, service: EcscService = 'schedule') {
  const root = Sandbox.prepare();
  const labDir = path.join(path.dirname(root), 'lab');
  mkdirSync(labDir, { recursive: true });
  const host: LabHostSpec = { name: `${service}-2`, address, roles: [service], vars: { service, node: 2 } };
  await ecscScenario.populate(root, host, {
    labDir,
    sharedDir: path.join(labDir, 'shared'),
    labSourceDir: LAB_SOURCE,
  });
  copyFileSync(await buildServiceTar({ labDir }, service), path.join(root, 'home', `${service}.tar`));
  const box = await Sandbox.start(host.name, root);
  boxes.push(box);
  const log = serviceLog(service).slice(1);
  return { box, host, log, since: box.read(log).length };
}

async function servicePids(box: Sandbox): Promise<string[]> {
  const ps = await box.run('ps -ef | grep java | grep -v grep || true');
  return ps
    .split('\n')
    .filter((l) => l.includes(' -jar lib/'))
    .map((l) => l.trim().split(/\s+/)[1]!);
}

const START = 'cd /home/schedule && nohup sh startup.sh >>nohup.out 2>&1 </dev/null &';

describe('schedule simulator', () => {
  it('starts with nohup sh startup.sh as a java process, serves its version, and stops gracefully on kill -15', async () => {
    const { box, host, log, since } = await scheduleHost('127.0.78.41');
    for (const cmd of ecscScenario.boot(host)) await box.run(cmd, FAST);
    await until(() => box.read(log).slice(since).includes('Started ScheduleApplication in'), 'started');
    const java = (await box.run('ps -ef | grep java | grep -v grep')).trim().split('\n');
    expect(java).toHaveLength(2); // the service and the monitoring agent
    expect(java.find((l) => l.includes('-jar'))).toMatch(
      /\/opt\/jdk1\.8\.0_121\/bin\/java -Xms256m -Xmx512m -Dfile\.encoding=UTF-8 -jar lib\/schedule-1\.6\.2\.jar --spring\.config\.location=conf\/application\.properties$/,
    );
    expect(await box.run('curl -s http://127.0.78.41:8080/version')).toBe('schedule 1.6.2\n');
    expect(box.read('home/schedule/nohup.out')).toContain(':: Spring Boot ::');

    const [pid] = await servicePids(box);
    const before = box.read(log).length;
    await box.run(`kill -15 ${pid}`);
    await until(async () => (await servicePids(box)).length === 0, 'stopped');
    expect(box.read(log).slice(before)).toContain("Shutting down ExecutorService 'taskScheduler'");
  });

  it('needs the service folder as working directory, as the seed’s `cd /home/schedule` implies', async () => {
    const { box } = await scheduleHost('127.0.78.42');
    const wrong = await box.exec('sh /home/schedule/startup.sh', FAST);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Error: Unable to access jarfile lib/schedule-1.6.2.jar');
  });

  it('upgrades from schedule.tar and keeps the node-local config the tar does not ship', async () => {
    const { box, log } = await scheduleHost('127.0.78.43');
    let since = box.read(log).length;
    await box.run(START, FAST);
    await until(() => box.read(log).slice(since).includes('Started ScheduleApplication'), 'started');
    await box.run(`kill -15 ${(await servicePids(box))[0]}`);
    await until(async () => (await servicePids(box)).length === 0, 'stopped');
    await box.run(
      'cp -R /home/schedule /home/schedule_20170324 && cd /home && tar xvf schedule.tar >/dev/null',
    );
    since = box.read(log).length;
    await box.run(START, FAST);
    await until(() => box.read(log).slice(since).includes('Started ScheduleApplication'), 'restarted');
    expect(await box.run('curl -s http://127.0.78.43:8080/version')).toBe('schedule 1.6.3\n');
    expect(box.read(log).slice(since)).toContain('Starting ScheduleApplication v1.6.3 on schedule-2');
    // Bound to this node's address only (server.address from config/, which the tar does not touch).
    expect(await box.run("ss -Hltn 'sport = :8080'")).toMatch(/127\.0\.78\.43:8080/);
    expect(await box.run("ss -Hltn 'sport = :8080'")).not.toMatch(/(0\.0\.0\.0|\*|\[::\]):8080/);
  });

  it('schedule-res logs to the seed’s /home/schedulereslog/scheduleres.log', async () => {
    const { box, log, since } = await scheduleHost('127.0.78.44', 'schedule-res');
    expect(log).toBe('home/schedulereslog/scheduleres.log');
    await box.run('cd /home/schedule-res && nohup sh startup.sh >>nohup.out 2>&1 </dev/null &', FAST);
    await until(() => box.read(log).slice(since).includes('Started ScheduleResApplication in'), 'started');
    expect(await box.run('curl -s http://127.0.78.44:8080/version')).toBe('schedule-res 1.6.2\n');
  });
});

describe('schedule fault knobs', () => {
  it('fail-start: exits 1 with "Application startup failed"', async () => {
    const { box, log, since } = await scheduleHost('127.0.78.50');
    const run = await box.exec(
      'mkdir -p /etc/lab/faults && touch /etc/lab/faults/fail-start && cd /home/schedule && sh startup.sh',
      FAST,
    );
    expect(run.code).toBe(1);
    expect(box.read(log).slice(since)).toContain('Application startup failed');
    expect(box.read(log).slice(since)).not.toContain('Started ScheduleApplication');
  });

  it('crash-after-start: dies after "Started", with exit status 134', async () => {
    const { box, log, since } = await scheduleHost('127.0.78.51');
    const run = await box.exec(
      'mkdir -p /etc/lab/faults && touch /etc/lab/faults/crash-after-start && cd /home/schedule && sh startup.sh',
      FAST,
    );
    expect(run.code).toBe(134);
    expect(box.read(log).slice(since)).toContain('Started ScheduleApplication');
    expect(run.stdout).toContain('A fatal error has been detected by the Java Runtime Environment');
  });

  it('slow-start: "Started ... in N seconds" includes the extra seconds', async () => {
    const { box, log, since } = await scheduleHost('127.0.78.52');
    await box.run(`mkdir -p /etc/lab/faults && echo 1 > /etc/lab/faults/slow-start && ${START}`, FAST);
    const started = await until(
      () => /Started ScheduleApplication in ([\d.]+) seconds/.exec(box.read(log).slice(since)),
      'started',
    );
    expect(Number(started?.[1])).toBeGreaterThanOrEqual(1 + Number(FAST.LAB_SCHEDULE_START_MS) / 1000);
  });

  it('ignore-term: kill -15 is logged and ignored', async () => {
    const { box, log, since } = await scheduleHost('127.0.78.53');
    await box.run(START, FAST);
    await until(() => box.read(log).slice(since).includes('Started ScheduleApplication'), 'started');
    const [pid] = await servicePids(box);
    await box.run(`mkdir -p /etc/lab/faults && touch /etc/lab/faults/ignore-term && kill -15 ${pid}`);
    await until(
      () => box.read(log).slice(since).includes('SIGTERM ignored (lab fault ignore-term)'),
      'ignored',
    );
    expect(await servicePids(box)).toEqual([pid]);
  });
});
