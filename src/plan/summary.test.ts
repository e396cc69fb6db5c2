import { describe, expect, it } from 'vitest';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { renderPlan } from './render.js';
import { renderPlanSummary } from './summary.js';

const RUNBOOK = `
name: summary
secrets:
  token: { from: [ { env: SUMMARY_TOKEN } ] }
phases:
  - id: up
    name: upgrade
    hosts: [c, a, b]
    rolling: { serial: 1 }
    steps:
      - id: stop
        service.stop: { unit: app }
      - id: migrate
        shell.run: { command: "migrate --to 2", env: { TOKEN: "{{ secrets.token }}" }, undo: "migrate --to 1" }
      - id: restart
        process.start: { command: "/opt/app/bin/run", log: /var/log/app.out }
      - id: started
        wait.log: { path: /var/log/app.log, pattern: "Started" }
      - id: only-a
        when: "host.name == 'a'"
        file.remove: { path: /tmp/stale }
`;

describe('the plan summary (cutover plan)', () => {
  it('shows phases, host order, a step × host table and one line of intent per step; no exact command, no secret', async () => {
    const { plan } = await planFixture(
      RUNBOOK,
      fakeInventory(['a', 'b', 'c']),
      {},
      { SUMMARY_TOKEN: 'tok-secret-9' },
    );
    const text = renderPlanSummary(plan);
    expect(text).toContain('order: c -> a -> b');
    expect(text).toContain('  step     c  a  b\n  stop     ✓  ✓  ✓\n');
    expect(text).toContain('  only-a   ·  ✓  ·\n');
    expect(text).toContain(
      '  stop: service.stop: stop app (waits for the state); probe: app is stopped; undo: start it again if it was running\n',
    );
    expect(text).toContain('undo: run `migrate --to 1`');
    expect(text).toContain('  only-a (only a): file.remove: remove /tmp/stale (moved into the run folder)');
    expect(text).toMatch(/started: wait.log: wait for \/Started\/ in \/var\/log\/app.log; read-only/);
    expect(text).not.toContain('tok-secret-9');
    expect(text).not.toContain('$ ');
    // A person reads it in a minute: far shorter than every command (plan -v).
    const full = renderPlan(plan);
    expect(text.length * 4).toBeLessThan(full.length);
    expect(full).toContain('$ ');
  });

  it('a wait.log without since names the step its lines count from (plan -v)', async () => {
    const { plan } = await planFixture(
      RUNBOOK,
      fakeInventory(['a', 'b', 'c']),
      {},
      { SUMMARY_TOKEN: 'tok-secret-9' },
    );
    const full = renderPlan(plan);
    expect(full).toContain('only lines written after restart started');
    expect(full).not.toMatch(/after {2}started/);
  });
});
