/**
 * Seed 000 under faults, in the lab, under user + integration traffic (issue 20): a host that
 * becomes unreachable in the middle of its upgrade. Events are ordered by barriers (a journaled
 * event, a fault knob), never by durations.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { clearFault, heldProcess, hostSshd, setFault } from '../../lab/faults.js';
import { CMW_VERSIONS } from '../../lab/scenarios/comindware.js';
import { eventually } from '../../lab/test-support.js';
import { journalEvents, liveEvents, runIdFrom } from '../../test/cli.js';
import { comindwareLab, expectNoFailures, HOSTS, NGINX, SELF } from './lab-support.js';

const lab = comindwareLab('127.0.46');

describe('seed 000 under faults', { timeout: 300_000 }, () => {
  beforeEach(() => lab.fresh(), 120_000);
  afterAll(() => lab.down(), 60_000);

  it('a host unreachable mid-upgrade: the run ends, says it was not put back, keeps its traffic on the neighbour; resume puts it back first, then finishes; 0 failed requests', async () => {
    // The barrier: integration's new version never rebalances, so the run is certainly waiting on
    // it when its sshd is killed; the knob is read at start, so the old version is not affected.
    await setFault(lab.labDir, 'integration', 'no-rebalance');
    const traffic = lab.load();
    const running = lab.apply();
    await eventually(
      () =>
        liveEvents(lab.stateDir).find(
          (e) => e.type === 'step.waiting' && e.step === 'upgrade/wait-rebalance@integration',
        ),
      180_000,
      'the run to wait on integration',
    );
    await hostSshd(lab.labDir, 'integration', 'down');
    const failed = await running;
    if (failed.code !== 1) throw new Error(`exit ${failed.code}\n${failed.stdout}\n${failed.stderr}`);
    const runId = runIdFrom(failed.stdout);

    // Honest: it says what was not put back and why, and what to do; never "put back".
    expect(failed.stderr).toMatch(/NOT put back: integration \(.*unreachable/);
    expect(failed.stderr).toContain(`cutover resume ${runId}`);
    expect(failed.stderr).not.toContain('was put back');
    const events = journalEvents(lab.stateDir, runId);
    const unreachable = events.findIndex((e) => e.type === 'host.unreachable' && e.host === 'integration');
    expect(unreachable).toBeGreaterThan(0);
    // After it was found unreachable, no undo was tried there (each is journaled as not run).
    const after = events.slice(unreachable);
    expect(after.filter((e) => e.type === 'compensation.started' && e.host === 'integration')).toEqual([]);
    expect(
      after.filter((e) => e.type === 'compensation.failed' && e.host === 'integration').length,
    ).toBeGreaterThan(5);
    // web never started; integration's traffic stays on its neighbour (its nginx was not restored).
    expect(events.some((e) => e.type === 'host.started' && e.host === 'web' && e.phase === 'upgrade')).toBe(
      false,
    );
    const routed = events.find((e) => e.type === 'drain.routed' && e.host === 'integration');
    const neighbour = routed?.type === 'drain.routed' ? routed.neighbour : 'none';
    expect(['web', 'backup']).toContain(neighbour);
    expect((await lab.answeringNodes())['integration /']).toBe(neighbour);

    // The host comes back; resume first finishes putting it back, then upgrades it and web.
    await hostSshd(lab.labDir, 'integration', 'up');
    await clearFault(lab.labDir, 'integration', 'no-rebalance');
    const resumed = await lab.cli(['resume', runId, '--yes', '--approve-gates']);
    const report = await traffic.stop();
    if (resumed.code !== 0) throw new Error(`exit ${resumed.code}\n${resumed.stdout}\n${resumed.stderr}`);
    expectNoFailures(report);

    const all = journalEvents(lab.stateDir, runId);
    const resumedAt = all.findIndex((e) => e.type === 'run.resumed');
    const undoneAgain = all.findIndex(
      (e, i) =>
        i > resumedAt && e.type === 'compensation.succeeded' && e.step === 'upgrade/backup@integration',
    );
    const forwardAgain = all.findIndex(
      (e, i) =>
        i > resumedAt && e.type === 'step.started' && e.step === 'upgrade/stop-comindware@integration',
    );
    expect(undoneAgain).toBeGreaterThan(resumedAt);
    expect(forwardAgain).toBeGreaterThan(undoneAgain);
    for (const host of HOSTS)
      expect(await lab.version(host)).toMatchObject({ version: CMW_VERSIONS.holdLock, state: 'running' });
    expect(await lab.answeringNodes()).toEqual(SELF);
    // The journaled backup of integration still holds the version it had before the run.
    const backup = [...all]
      .reverse()
      .find((e) => e.type === 'step.succeeded' && e.step === 'upgrade/backup@integration');
    const dest = backup?.type === 'step.succeeded' ? backup.outputs.dest : undefined;
    expect(dest).toBeTruthy();
    expect((await lab.ssh.out('integration', `cat ${dest}/version`)).trim()).toBe(CMW_VERSIONS.installed);
  });

  it('rollback after a successful run drains each node as the upgrade did: every node back on the old version, nginx byte-identical, 0 failed requests', async () => {
    const nginxBefore = Object.fromEntries(
      await Promise.all(HOSTS.map(async (h) => [h, await lab.ssh.out(h, `cat ${NGINX}`)] as const)),
    );
    const traffic = lab.load();
    const run = await lab.apply();
    if (run.code !== 0) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    const runId = runIdFrom(run.stdout);
    const rollback = await lab.cli(['rollback', runId, '--yes']);
    const report = await traffic.stop();
    if (rollback.code !== 0) throw new Error(`exit ${rollback.code}\n${rollback.stdout}\n${rollback.stderr}`);
    expectNoFailures(report);
    for (const host of HOSTS) {
      expect(await lab.version(host)).toMatchObject({ version: CMW_VERSIONS.installed, state: 'running' });
      expect(await lab.ssh.out(host, `cat ${NGINX}`)).toBe(nginxBefore[host]);
    }
    expect(await lab.answeringNodes()).toEqual(SELF);
    // Each node that takes traffic was drained before its own undos ran, and restored after them.
    const events = journalEvents(lab.stateDir, runId);
    const rolled = events.slice(events.findIndex((e) => e.type === 'rollback.started'));
    for (const host of ['web', 'integration']) {
      const drained = rolled.findIndex((e) => e.type === 'drain.routed' && e.host === host);
      const undos = rolled
        .map((e, i) => ({ e, i }))
        .filter(({ e }) => e.type === 'compensation.succeeded' && e.host === host);
      expect(drained, host).toBeGreaterThan(0);
      expect(undos.length, host).toBeGreaterThan(2);
      expect(undos[0]!.i, host).toBeGreaterThan(drained);
      expect(undos.at(-1)!.e).toMatchObject({ step: `upgrade/drain@${host}` });
    }
  });

  it('a node that dies after its upgrade, while the next node is in flight, fails the run: nothing new starts, the message says which node went down', async () => {
    // Barriers: web's new version is held at its start until the guard has reported integration
    // down; integration's platform is killed once integration has finished its upgrade.
    await setFault(lab.labDir, 'web', 'hold-start');
    const running = lab.apply();
    await eventually(
      () => heldProcess(lab.labDir, 'web'),
      180_000,
      "web's new version to be held at its start",
    );
    const events = liveEvents(lab.stateDir);
    expect(
      events.find((e) => e.type === 'host.finished' && e.host === 'integration' && e.phase === 'upgrade'),
    ).toMatchObject({
      outcome: 'succeeded',
    });
    await lab.ssh.out('integration', 'pkill -KILL -f comindware.mjs');
    await eventually(
      () => liveEvents(lab.stateDir).find((e) => e.type === 'host.unhealthy' && e.host === 'integration'),
      120_000,
      'the guard to find integration down',
    );
    await clearFault(lab.labDir, 'web', 'hold-start');
    const run = await running;
    if (run.code !== 1) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    expect(run.stderr).toMatch(
      /integration went down after its upgrade \(phase upgrade\): http:\/\/\S+ answered/,
    );
    expect(run.stderr).toContain(`cutover rollback ${runIdFrom(run.stdout)}`);
    const all = journalEvents(lab.stateDir, runIdFrom(run.stdout));
    expect(all.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'failed' });
    // web was in flight: it finished with its traffic back; nothing else was started.
    expect(
      all.find((e) => e.type === 'host.finished' && e.host === 'web' && e.phase === 'upgrade'),
    ).toMatchObject({
      outcome: 'succeeded',
    });
    expect((await lab.answeringNodes())['web /']).toBe('web');
  });
});

describe('seed 000: a wait watches what it waits for', { timeout: 300_000 }, () => {
  const lab2 = comindwareLab('127.0.47');
  beforeEach(() => lab2.fresh(), 120_000);
  afterAll(() => lab2.down(), 60_000);

  it('a new version that fails at start ends the wait at once (its unit failed), and the saga puts the node back; 0 failed requests', async () => {
    // The new version exits during its start with a line no fail pattern matches; its unit fails.
    // Barrier: it is held at its start (knobs read) until the knobs are cleared, so the old
    // version the saga starts again later starts normally.
    await setFault(lab2.labDir, 'integration', 'fail-start');
    await setFault(lab2.labDir, 'integration', 'hold-start');
    const traffic = lab2.load();
    const running = lab2.apply();
    await eventually(
      () => heldProcess(lab2.labDir, 'integration'),
      180_000,
      "integration's new version held",
    );
    await clearFault(lab2.labDir, 'integration', 'fail-start');
    await clearFault(lab2.labDir, 'integration', 'hold-start');
    const run = await running;
    const report = await traffic.stop();
    if (run.code !== 1) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    expect(run.stderr).toMatch(
      /upgrade\/wait-hold@integration: .*watching unit comindwarecmw: unit comindwarecmw is (failed|inactive): the wait ended at once/,
    );
    expect(run.stderr).not.toContain('timed out');
    expect(run.stderr).toContain('The failed host was put back');
    expectNoFailures(report);
    expect(await lab2.version('integration')).toMatchObject({
      version: CMW_VERSIONS.installed,
      state: 'running',
    });
    expect(await lab2.version('web')).toMatchObject({ version: CMW_VERSIONS.installed });
    expect(await lab2.answeringNodes()).toEqual(SELF);
  });
});

describe('seed 000: resume after the controller is killed in a step without a probe of its own', {
  timeout: 300_000,
}, () => {
  const lab3 = comindwareLab('127.0.48');
  beforeEach(() => lab3.fresh(), 120_000);
  afterAll(() => lab3.down(), 60_000);

  it('kill -9 while integration is being drained, in its config edit or its status check: resume needs no flags, 0 failed requests, traffic back', async () => {
    const traffic = lab3.load();
    for (const step of [
      'upgrade/drain@integration',
      'upgrade/config-hold-lock@web',
      'upgrade/check-units@web',
    ]) {
      let pid = 0;
      const first = lab3.apply(CMW_VERSIONS.holdLock, undefined, { onSpawn: (p) => (pid = p) });
      const started = await eventually(
        () => liveEvents(lab3.stateDir).find((e) => e.type === 'step.started' && e.step === step),
        180_000,
        `${step} to start`,
      );
      process.kill(pid, 'SIGKILL');
      expect((await first).signal).toBe('SIGKILL');
      const resumed = await lab3.cli(['resume', started.run, '--yes', '--approve-gates']);
      if (resumed.code !== 0)
        throw new Error(`${step}: exit ${resumed.code}\n${resumed.stdout}\n${resumed.stderr}`);
      expect(resumed.stderr, step).not.toContain('--mark-done');
      for (const host of HOSTS)
        expect(await lab3.version(host), step).toMatchObject({
          version: CMW_VERSIONS.holdLock,
          state: 'running',
        });
      expect(await lab3.answeringNodes(), step).toEqual(SELF);
      // Back to the old version for the next kill point.
      const back = await lab3.cli(['rollback', started.run, '--yes']);
      if (back.code !== 0) throw new Error(`${step}: rollback exit ${back.code}\n${back.stderr}`);
    }
    expectNoFailures(await traffic.stop());
  });
});
