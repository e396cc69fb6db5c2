import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, UsageError } from '../errors.js';
import { loadInventory } from '../inventory/load.js';
import { resolveParams } from '../runbook/inputs.js';
import { loadRunbook } from '../runbook/load.js';
import { fakeInventory } from '../testing/plan-fixture.js';
import { compile } from './compile.js';
import { renderPlan } from './render.js';
import type { StepSelection } from './select.js';
import { allSteps } from './types.js';

const RUNBOOK = `
name: select
phases:
  - id: prepare
    hosts: all
    steps:
      - id: fetch
        shell.run: { command: "fetch-release", undo: "rm -f /tmp/release" }
  - id: upgrade
    hosts: all
    rolling: { serial: 1 }
    drain:
      config: /etc/nginx/{{ host.name }}.conf
      locations: [/]
      upstream: "http://{{ neighbour.address }}:8080"
      neighbours: { roles: [app] }
    steps:
      - id: stop
        service.stop: { unit: app }
      - id: backup
        backup.copy: { src: /home/app, dest: /home/app_old }
      - id: extract
        archive.extract: { archive: /home/app.tar, dest: /home }
      - id: start
        service.start: { unit: app }
      - id: wait-log
        wait.log: { path: /var/log/app.log, pattern: started, since: start }
      - id: wait-again
        wait.log: { path: /var/log/app.log, pattern: ready }
      - id: check
        shell.run: { command: "curl -fsS localhost:8080/health", readonly: true }
`;

const dir = mkdtempSync(join(tmpdir(), 'cutover-select-'));
writeFileSync(join(dir, 'runbook.yml'), RUNBOOK);
writeFileSync(join(dir, 'inventory.yml'), fakeInventory(['a', 'b']));

async function planWith(steps: StepSelection) {
  const inventory = await loadInventory(join(dir, 'inventory.yml'));
  const { runbook } = await loadRunbook(join(dir, 'runbook.yml'), { inventory });
  return compile({ runbook, inventory, params: resolveParams(runbook, {}), secrets: {}, steps });
}

function refusal(steps: StepSelection): Promise<string> {
  return planWith(steps).then(
    () => {
      throw new Error('not refused');
    },
    (e: unknown) => {
      expect(e instanceof InputError || e instanceof UsageError).toBe(true);
      expect((e as InputError).exitCode).toBe(2);
      return (e as Error).message;
    },
  );
}

describe('--only / --from', () => {
  it('--from keeps the step and every one after it; earlier phases are left out; the drain still wraps each host', async () => {
    const plan = await planWith({ from: 'upgrade/backup' });
    expect(plan.phases.map((p) => p.id)).toEqual(['upgrade']);
    expect(plan.phases[0]?.steps.a?.map((s) => s.stepId)).toEqual([
      'backup',
      'extract',
      'start',
      'wait-log',
      'wait-again',
      'check',
    ]);
    expect(Object.keys(plan.phases[0]?.drains ?? {})).toEqual(['a', 'b']);
    expect(plan.steps).toEqual({ from: 'upgrade/backup' });
    expect(renderPlan(plan)).toContain('steps: --from upgrade/backup');
    // Another selection is another plan.
    expect((await planWith({ from: 'start' })).hash).not.toBe(plan.hash);
  });

  it('--only keeps the named steps (phase/step, a step id alone, phase/*, comma lists)', async () => {
    const plan = await planWith({ only: ['fetch,upgrade/start', 'wait-log'] });
    expect(allSteps(plan).map((s) => s.id)).toEqual([
      'prepare/fetch@a',
      'prepare/fetch@b',
      'upgrade/start@a',
      'upgrade/wait-log@a',
      'upgrade/start@b',
      'upgrade/wait-log@b',
    ]);
    const whole = await planWith({ only: ['prepare/*'] });
    expect(whole.phases.map((p) => p.id)).toEqual(['prepare']);
    expect(Object.keys(whole.phases[0]?.drains ?? {})).toEqual([]);
  });

  it('refuses a wait.log whose since step is left out (explicit or implied), naming both and the hosts', async () => {
    const explicit = await refusal({ only: ['wait-log'] });
    expect(explicit).toContain('upgrade/wait-log');
    expect(explicit).toMatch(/after step start \(its since:\), which --only wait-log leaves out/);
    expect(explicit).toContain('(on a, b)');
    expect(explicit).toContain('runbook.yml:');
    // wait-again's since is the step before it that acts (start).
    expect(await refusal({ from: 'wait-again' })).toMatch(
      /wait-again: waits for log lines written after step start/,
    );
  });

  it('refuses a step whose undo is a backup.copy left out, and a drain or preflight as a step', async () => {
    const extract = await refusal({ from: 'extract' });
    expect(extract).toMatch(
      /upgrade\/extract: has no undo of its own: backup\.copy backup \(of \/home\/app\)/,
    );
    expect(extract).toContain('--from extract leaves that backup out');
    // With the backup, the extract is fine; a step with an undo of its own or a read-only one needs no backup.
    await expect(planWith({ only: ['backup', 'extract'] })).resolves.toBeTruthy();
    await expect(planWith({ only: ['check', 'stop'] })).resolves.toBeTruthy();
    expect(await refusal({ only: ['drain'] })).toMatch(
      /traffic drain of phase upgrade is not a step to choose/,
    );
    expect(await refusal({ only: ['upgrade/drain'] })).toMatch(/not a step to choose/);
  });

  it('names what it cannot resolve, with the steps there are', async () => {
    expect(await refusal({ only: ['nope'] })).toContain('the runbook has no step "nope"');
    expect(await refusal({ only: ['upgrade/nope'] })).toContain('phase upgrade has no step "nope"');
    expect(await refusal({ only: ['x/stop'] })).toContain('no phase "x"');
    expect(await refusal({ only: ['a'], from: 'b' })).toContain('--only and --from together');
    const e = await planWith({ only: ['nope'] }).catch((x: UsageError) => x);
    expect((e as UsageError).hint).toContain('upgrade/extract');
  });
});
