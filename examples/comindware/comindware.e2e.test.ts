/**
 * Seed 000 end to end in the lab: real sshd hosts, real nginx, the Comindware simulator, the
 * real CLI, and user + integration traffic the whole time (issue 4).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { setFault } from '../../lab/faults.js';
import { CMW_VERSIONS } from '../../lab/scenarios/comindware.js';
import { eventually } from '../../lab/test-support.js';
import { journalEvents, liveEvents, runIdFrom } from '../../test/cli.js';
import { CONFIG, comindwareLab, expectNoFailures, HOSTS, NGINX, RUNBOOK, SELF } from './lab-support.js';

const IGNITE = '/var/log/comindware/cmw/igniteClient_$(date +%F).log';
const lab = comindwareLab('127.0.10');
const { labDir } = lab;
const version = lab.version;
const answeringNodes = lab.answeringNodes;
const load = lab.load;

/** The lab is up when sshd answers; the platform takes a moment more to load. */
async function untilRunning(): Promise<void> {
  await eventually(
    async () => {
      const states = await Promise.all(
        HOSTS.map((h) =>
          version(h)
            .then((v) => v.state)
            .catch(() => 'down'),
        ),
      );
      return states.every((s) => s === 'running') ? true : undefined;
    },
    60_000,
    "the lab's platforms to run",
  );
}

async function snapshot(paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const host of HOSTS) for (const p of paths) out[`${host}:${p}`] = await lab.ssh.out(host, `cat ${p}`);
  return out;
}

function apply(
  runbook = RUNBOOK,
  extra: { onSpawn?: (pid: number) => void } = {},
  target: string = CMW_VERSIONS.holdLock,
) {
  return lab.apply(target, runbook, extra);
}

describe('seed 000: Comindware rolling upgrade in the lab', { timeout: 180_000 }, () => {
  beforeEach(() => lab.fresh(), 120_000);
  afterAll(() => lab.down(), 60_000);

  it('upgrades backup, integration, web under load with 0 failed requests', async () => {
    expect(await answeringNodes()).toEqual(SELF);
    const before = await snapshot([NGINX, CONFIG]);
    const staleIgnite = await lab.ssh.out('integration', `cat ${IGNITE}`);
    expect(staleIgnite).toContain('Skipping rebalancing (nothing scheduled)');

    const traffic = load();
    const run = await apply();
    const report = await traffic.stop();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expectNoFailures(report);

    for (const host of HOSTS)
      expect(await version(host)).toMatchObject({ version: CMW_VERSIONS.holdLock, state: 'running' });
    const after = await snapshot([NGINX, CONFIG]);
    for (const host of HOSTS) {
      expect(after[`${host}:${NGINX}`]).toBe(before[`${host}:${NGINX}`]);
      const config = after[`${host}:${CONFIG}`] as string;
      expect(config).toMatch(/^db\.holdLock: true$/m);
      expect(config).not.toMatch(/isContainerEnvironment|clusterNodes|waitForClusterActivation/);
      expect(config).toContain('# Не загружает платформу пока существует файл db.workDir/hold.lock');
      // Every comment line that did not belong to a removed directive is still there.
      const kept = (before[`${host}:${CONFIG}`] as string)
        .split('\n')
        .filter((l) => /^\s*#/.test(l) && !/в контейнере|Узлы кластера Ignite/.test(l));
      expect(kept.length).toBeGreaterThan(3);
      for (const line of kept) expect(config).toContain(line);
    }
    // Traffic really went back: each nginx answers from its own node again, on both locations.
    expect(await answeringNodes()).toEqual(SELF);

    // hold.lock went only after a rebalancing line written after this upgrade started.
    const events = journalEvents(lab.stateDir, runIdFrom(run.stdout));
    for (const host of HOSTS) {
      const matched = events.find(
        (e) => e.type === 'step.succeeded' && e.step === `upgrade/wait-rebalance@${host}`,
      );
      const line = matched?.type === 'step.succeeded' ? matched.outputs.matched : undefined;
      expect(line).toMatch(/Skipping rebalancing \(nothing scheduled\)/);
      if (host === 'integration') expect(staleIgnite).not.toContain(line);
      const rebalanced = events.indexOf(matched as never);
      const removed = events.findIndex(
        (e) => e.type === 'step.started' && e.step === `upgrade/release-hold@${host}`,
      );
      expect(removed).toBeGreaterThan(rebalanced);
    }
  });

  it('upgrades to a file-activation version: config migrated for it, each node activated after it rebalanced', async () => {
    const traffic = load();
    const run = await apply(RUNBOOK, {}, CMW_VERSIONS.fileActivation);
    const report = await traffic.stop();
    if (run.code !== 0) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    expectNoFailures(report);
    const events = journalEvents(lab.stateDir, runIdFrom(run.stdout));
    const ran = (host: string) =>
      events.flatMap((e) =>
        e.type === 'step.succeeded' && e.host === host ? [e.step.split(/[/@]/)[1]] : [],
      );
    for (const host of HOSTS) {
      expect(await version(host)).toMatchObject({ version: CMW_VERSIONS.fileActivation, state: 'running' });
      const config = await lab.ssh.out(host, `cat ${CONFIG}`);
      expect(config).toMatch(/^db\.waitForClusterActivation: true$/m);
      expect(config).toMatch(/^db\.waitForFileActivation: \/var\/www\/\.cmw_environment\/cmw$/m);
      expect(config).toContain('# Ожидает наличие файла перед запуском');
      expect(config).not.toMatch(/isContainerEnvironment|clusterNodes|holdLock/);
      const steps = ran(host);
      expect(steps).not.toContain('wait-hold');
      expect(steps).not.toContain('release-hold');
      const order = ['wait-activation', 'poke', 'wait-rebalance', 'activate', 'wait-login'].map((s) =>
        steps.indexOf(s),
      );
      expect(order.every((i) => i >= 0)).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(await answeringNodes()).toEqual(SELF);
  });

  it('puts the integration node back when it never rebalances, leaves web alone, and rolls back the rest', async () => {
    await setFault(labDir, 'integration', 'no-rebalance');
    // The fault is read at start: restart the integration node's platform with it.
    await lab.ssh.out('integration', 'systemctl restart comindwarecmw');
    await untilRunning();
    const before = await snapshot([NGINX, CONFIG, '/var/lib/comindware/cmw/version']);
    // Same runbook, a short rebalancing timeout so the test does not wait ten minutes.
    const runbook = join(lab.stateDir, 'runbook.yml');
    writeFileSync(
      runbook,
      readFileSync(RUNBOOK, 'utf8').replace(
        /(pattern: 'Skipping rebalancing[^\n]*\n(?:[^\n]*\n)*?\s+timeout: )10m/,
        '$18s',
      ),
    );
    expect(readFileSync(runbook, 'utf8')).toContain('timeout: 8s');

    const traffic = load();
    const run = await apply(runbook);
    if (run.code !== 1) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    expect(run.stderr).toMatch(
      /upgrade\/wait-rebalance@integration: timed out waiting for \/Skipping rebalancing/,
    );
    expect(run.stderr).toContain('Still waiting for initial partition map exchange');
    const runId = runIdFrom(run.stdout);

    // integration is back: old version running, config, nginx and data as before.
    expect(await version('integration')).toMatchObject({ version: CMW_VERSIONS.installed, state: 'running' });
    const after = await snapshot([NGINX, CONFIG, '/var/lib/comindware/cmw/version']);
    for (const host of ['integration', 'web']) {
      for (const p of [NGINX, CONFIG, '/var/lib/comindware/cmw/version'])
        expect(after[`${host}:${p}`]).toBe(before[`${host}:${p}`]);
    }
    // web was never touched.
    expect(await version('web')).toMatchObject({ version: CMW_VERSIONS.installed, state: 'running' });
    const events = journalEvents(lab.stateDir, runId);
    expect(
      events.filter(
        (e) => 'host' in e && e.host === 'web' && e.type === 'step.started' && e.step.startsWith('upgrade/'),
      ),
    ).toEqual([]);
    // backup was upgraded before the failure.
    expect(await version('backup')).toMatchObject({ version: CMW_VERSIONS.holdLock });

    const rollback = await lab.cli(['rollback', runId, '--yes']);
    const report = await traffic.stop();
    expect(rollback.code).toBe(0);
    expect(await version('backup')).toMatchObject({ version: CMW_VERSIONS.installed, state: 'running' });
    const rolledBack = await snapshot([NGINX, CONFIG, '/var/lib/comindware/cmw/version']);
    expect(rolledBack).toEqual(before);
    expectNoFailures(report);
  });

  it('resumes after the controller is killed while waiting on the integration node', async () => {
    const traffic = load();
    let pid = 0;
    const first = apply(RUNBOOK, { onSpawn: (p) => (pid = p) });
    // Kill -9 as soon as the journal shows the controller waiting on integration's rebalancing line.
    const waiting = await eventually(
      () =>
        liveEvents(lab.stateDir).find(
          (e) => e.type === 'step.waiting' && e.step === 'upgrade/wait-rebalance@integration',
        ),
      120_000,
      'the controller to wait on integration',
    );
    const runId = waiting.run;
    process.kill(pid, 'SIGKILL');
    const killed = await first;
    expect(killed.signal).toBe('SIGKILL');
    const status = await lab.cli(['status', runId]);
    expect(status.stdout).toMatch(/stopped while .*wait-rebalance@integration/);

    const resumed = await lab.cli(['resume', runId, '--approve-gates']);
    const report = await traffic.stop();
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expectNoFailures(report);
    for (const host of HOSTS)
      expect(await version(host)).toMatchObject({ version: CMW_VERSIONS.holdLock, state: 'running' });

    // No completed step ran twice: only the interrupted wait started again.
    const starts = new Map<string, number>();
    for (const e of journalEvents(lab.stateDir, runId))
      if (e.type === 'step.started') starts.set(e.step, (starts.get(e.step) ?? 0) + 1);
    const twice = [...starts].filter(([, n]) => n > 1).map(([s]) => s);
    expect(twice).toEqual(['upgrade/wait-rebalance@integration']);
  });
});
