import { describe, expect, it } from 'vitest';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { describeChanges, diffPlans, mergePlans } from './replan.js';
import { allSteps } from './types.js';

function runbook(steps: string[]): string {
  return ['name: replan', 'phases:', '  - id: up', '    hosts: all', '    steps:', ...steps, ''].join('\n');
}
const STOP = '      - { id: stop, service.stop: { unit: app } }';
const MIGRATE = '      - { id: migrate, shell.run: { command: "migrate --to 2", undo: "migrate --to 1" } }';
const START = '      - { id: start, service.start: { unit: app } }';

describe('replan', () => {
  it('diffs per host: added, removed and edited steps, and says which done steps stay', async () => {
    const old = (await planFixture(runbook([STOP, MIGRATE, START]), fakeInventory(['a', 'b']))).plan;
    const next = (
      await planFixture(
        runbook([
          STOP,
          MIGRATE.replace('--to 2', '--to 3'),
          '      - { id: check, shell.run: { command: "true" } }',
        ]),
        fakeInventory(['a', 'b']),
      )
    ).plan;
    const changes = diffPlans(old, next);
    expect(changes.map((c) => `${c.host} ${c.what} ${c.step} ${c.detail ?? ''}`.trim())).toEqual([
      'a edited migrate params command',
      'a removed start',
      'a added check',
      'b edited migrate params command',
      'b removed start',
      'b added check',
    ]);
    expect(describeChanges(changes, new Set(['up/migrate@a']))).toEqual([
      'phase up:',
      '  a: ~ migrate (params command) (done: kept as journaled, with its undo); - start; + check',
      '  b: ~ migrate (params command); - start; + check',
    ]);
    expect(diffPlans(old, old)).toEqual([]);
  });

  it('merges: kept steps in their journaled version and place, the rest as the new plan says', async () => {
    const old = (await planFixture(runbook([STOP, MIGRATE, START]), fakeInventory(['a', 'b']))).plan;
    const next = (
      await planFixture(runbook([STOP, MIGRATE.replace('--to 2', '--to 3')]), fakeInventory(['b']))
    ).plan;
    const kept = new Set(['up/stop@a', 'up/migrate@a', 'up/start@a']);
    const merged = mergePlans(old, next, kept);
    const ids = allSteps(merged).map((s) => s.id);
    expect(ids).toEqual(['up/stop@b', 'up/migrate@b', 'up/stop@a', 'up/migrate@a', 'up/start@a']);
    const params = (id: string) => allSteps(merged).find((s) => s.id === id)?.params as { command: unknown };
    expect(String(params('up/migrate@a').command)).toContain('--to 2');
    expect(String(params('up/migrate@b').command)).toContain('--to 3');
    expect(merged.hosts.map((h) => h.name)).toEqual(['b', 'a']);
    // Deterministic: the same merge gives the same hash (resume rebuilds it from the journal).
    expect(mergePlans(old, next, kept).hash).toBe(merged.hash);
    expect(mergePlans(old, next, new Set()).hash).toBe(next.hash);
  });
});
