// The seed scenarios brought up for real by the lab machinery, used a little, and brought down.
// They run on their own addresses (127.0.40.x, 127.0.41.x; last octet kept) so that this file
// runs while someone has the scenario's lab up on 127.0.10.x, as developers and e2e tests do.
import fs from 'node:fs/promises';
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { setFault, clearFault } from '../faults.js';
import { labDown, labStatus, labUp } from '../hosts.js';
import { labLoadTargets, startLoad } from '../load.js';
import { eventually, labProcesses, leftovers, relocate, sshPool, tempLabDir } from '../test-support.js';
import { makeScenario, scenarioNames, scenarios } from './index.js';

const labs: { labDir: string; close: () => Promise<void> }[] = [];

afterAll(async () => {
  for (const lab of labs) {
    await lab.close();
    await labDown({ labDir: lab.labDir }).catch(() => undefined);
    await fs.rm(lab.labDir, { recursive: true, force: true });
  }
});

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get(url, { agent: false, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', () => resolve(0))
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy();
      });
  });
}

describe('scenario index', () => {
  it('names every scenario and builds plain with options only', () => {
    expect(scenarioNames).toEqual(['comindware', 'ecsc', 'plain']);
    expect(scenarios.comindware.hosts.map((h) => h.name)).toEqual(['web', 'integration', 'backup']);
    expect(makeScenario('plain', { hosts: 4 }).hosts).toHaveLength(4);
    expect(() => makeScenario('ecsc', { hosts: 2 })).toThrow(/plain scenario only/);
    expect(() => makeScenario('kafka')).toThrow(/expected one of comindware, ecsc, plain/);
  });
});

describe('comindware lab', () => {
  const labDir = tempLabDir('comindware');
  const ssh = sshPool(labDir);
  labs.push({ labDir, close: () => ssh.close() });
  const scenario = relocate(scenarios.comindware, '127.0.40');
  const hosts = scenario.hosts;

  it('comes up with its units active, shared storage on every host and an artifact server', async () => {
    const up = await labUp({ scenario, labDir });
    expect(up.hosts.map((h) => [h.name, h.address, h.booted])).toEqual([
      ['web', '127.0.40.10', true],
      ['integration', '127.0.40.11', true],
      ['backup', '127.0.40.12', true],
    ]);
    expect(up.controller?.info.artifactServer).toMatch(/^http:\/\/127\.0\.10\.1:\d+\//);
    const status = await labStatus({ labDir });
    for (const h of status.hosts) {
      expect(h.sshd).toBe('up');
      expect(h.units).toEqual(
        expect.arrayContaining(['apigatewaycmw.service', 'comindwarecmw.service', 'adapterhostcmw.service']),
      );
    }
    expect(status.controller).toMatchObject({ running: 1, total: 1 });
    await ssh.out('web', 'echo from-web > /mnt/shared/lab-test');
    expect(await ssh.out('backup', 'cat /mnt/shared/lab-test')).toBe('from-web\n');
    expect(await ssh.out('integration', 'hostname; ls /usr/share/comindware/configs/instance/')).toBe(
      'integration\ncmw.yml\n',
    );
  });

  it("serves user and integration traffic through each host's nginx under load", async () => {
    const targets = await labLoadTargets(labDir);
    expect(targets.map((t) => t.url)).toEqual(['http://127.0.40.10/', 'http://127.0.40.11/async']);
    for (const t of targets)
      await eventually(
        async () => ((await httpStatus(t.url)) === 200 ? true : undefined),
        30_000,
        `${t.url} to answer 200`,
      );
    const report = await startLoad({ targets, ratePerSecond: 20, durationMs: 500 }).done;
    expect(report.total.sent).toBeGreaterThan(0);
    expect(report.total.failed).toBe(0);
  });

  it('a fault knob set on the controller makes the next start fail, and clearing it heals', async () => {
    await setFault(labDir, 'backup', 'fail-start');
    await ssh.out('backup', 'systemctl restart comindwarecmw');
    await eventually(
      async () =>
        (await ssh.out('backup', 'systemctl is-active comindwarecmw || true')) === 'failed\n'
          ? true
          : undefined,
      30_000,
      'comindwarecmw to fail',
    );
    // Only backup has the knob.
    expect(await ssh.out('web', 'systemctl is-active comindwarecmw')).toBe('active\n');
    await clearFault(labDir, 'backup', 'fail-start');
    await ssh.out('backup', 'systemctl start comindwarecmw');
    await eventually(
      async () => ((await httpStatus('http://127.0.40.12/')) === 200 ? true : undefined),
      30_000,
      'backup to serve again',
    );
  });

  it('goes down without leftovers', async () => {
    await ssh.close();
    const before = await labProcesses(
      labDir,
      hosts.map((h) => h.name),
    );
    const down = await labDown({ labDir });
    expect(down).toMatchObject({ hosts: ['backup', 'integration', 'web'], controllerProcesses: 1 });
    const after = await leftovers(labDir, before, hosts);
    expect(after, JSON.stringify(after, null, 1)).toEqual({ processes: [], mounts: [], listening: [] });
    expect(await httpStatus('http://127.0.40.10/')).toBe(0);
  });
});

describe('ecsc lab', () => {
  const labDir = tempLabDir('ecsc');
  const ssh = sshPool(labDir);
  labs.push({ labDir, close: () => ssh.close() });
  const scenario = relocate(scenarios.ecsc, '127.0.41');
  const hosts = scenario.hosts;

  it('comes up with eight hosts, java processes and service pages under load', async () => {
    const up = await labUp({ scenario, labDir });
    expect(up.hosts.map((h) => h.name)).toEqual([
      'ecsc-1',
      'ecsc-2',
      'ecmc-1',
      'ecmc-2',
      'schedule-1',
      'schedule-2',
      'schedule-res-1',
      'schedule-res-2',
    ]);
    expect(up.hosts.every((h) => h.booted)).toBe(true);
    // Several java processes per host, each host seeing only its own.
    const java = await ssh.out('ecsc-1', 'ps -ef | grep [j]ava');
    expect(java.trim().split('\n').length).toBeGreaterThanOrEqual(2);
    expect(java).toContain('org.apache.catalina.startup.Bootstrap');
    expect(java).not.toContain('schedule');
    const targets = await labLoadTargets(labDir);
    expect(targets).toHaveLength(8);
    for (const t of targets)
      await eventually(
        async () => ((await httpStatus(t.url)) === 200 ? true : undefined),
        30_000,
        `${t.url} to answer 200`,
      );
    const report = await startLoad({ targets, ratePerSecond: 5, durationMs: 400 }).done;
    expect(report.total.sent).toBeGreaterThan(0);
    expect(report.total.failed).toBe(0);
  });

  it('goes down without leftovers', async () => {
    await ssh.close();
    const before = await labProcesses(
      labDir,
      hosts.map((h) => h.name),
    );
    const down = await labDown({ labDir });
    expect(down.hosts).toHaveLength(8);
    const after = await leftovers(labDir, before, hosts);
    expect(after, JSON.stringify(after, null, 1)).toEqual({ processes: [], mounts: [], listening: [] });
  });
});
