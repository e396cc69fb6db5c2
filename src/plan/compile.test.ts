import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { renderPlan } from './render.js';

const RUNBOOK = `
name: demo
safe_programs: [login]
params:
  version: { type: version, required: true }
secrets:
  token: { from: [ { env: DEMO_TOKEN } ] }
phases:
  - id: up
    name: upgrade
    hosts: [c, a, b]
    rolling: { serial: 1 }
    steps:
      - id: ship
        file.upload: { src: release.tar, dest: /home/release.tar }
      - id: login
        shell.run: { command: "printf %s {{ secrets.token }} | login --token-stdin --version {{ params.version }}" }
      - id: old-only
        when: "params.version < '2.0'"
        shell.run: { command: "legacy-fix" }
`;

/** The same runbook with its keys in another order and other spacing: the same plan. */
const REORDERED = `
name: demo
safe_programs: [login]
secrets:
  token: { from: [ { env: DEMO_TOKEN } ] }
params:
  version: { required: true, type: version }
phases:
  - name: upgrade
    id: up
    rolling: { serial: 1 }
    hosts: [c, a, b]
    steps:
      - file.upload: { dest: /home/release.tar, src: release.tar }
        id: ship
      - shell.run: { command: "printf %s {{ secrets.token }} | login --token-stdin --version {{ params.version }}" }
        id: login
      - id: old-only
        shell.run: { command: "legacy-fix" }
        when: "params.version < '2.0'"
`;

const RELEASE = join(mkdtempSync(join(tmpdir(), 'cutover-plan-')), 'release.tar');

describe('compile', () => {
  it('gives stable ids phase/step@host, hosts in the phase order, and skips by `when`', async () => {
    const { plan } = await planWith();
    const phase = plan.phases[0];
    expect(phase?.groups).toEqual([{ key: 'all', hosts: ['c', 'a', 'b'] }]);
    expect(phase?.steps.c?.map((s) => s.id)).toEqual(['up/ship@c', 'up/login@c']);
    expect(phase?.skipped.map((s) => `${s.stepId}@${s.host}`)).toEqual([
      'old-only@c',
      'old-only@a',
      'old-only@b',
    ]);
  });

  it('is deterministic: the same input twice, or the runbook with its keys reordered, has one hash', async () => {
    const a = await planWith();
    const b = await planWith();
    const c = await planWith({ runbook: REORDERED });
    expect(a.plan.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.plan.hash).toBe(a.plan.hash);
    expect(c.plan.hash).toBe(a.plan.hash);
  });

  it('changes its hash with a param, an uploaded file or the hosts, but not with a secret value', async () => {
    const base = (await planWith()).plan.hash;
    expect((await planWith({ version: '2.2.0' })).plan.hash).not.toBe(base);
    expect((await planWith({ tar: 'release 2.1.0, rebuilt' })).plan.hash).not.toBe(base);
    // A host the plan does not use changes nothing; another address for a used one does.
    expect((await planWith({ hosts: ['a', 'b', 'c', 'd'] })).plan.hash).toBe(base);
    expect((await planWith({ hosts: ['b', 'a', 'c'] })).plan.hash).not.toBe(base);
    // Secrets are never stored, so a resume with the same plan must not depend on them.
    expect((await planWith({ token: 'another-secret' })).plan.hash).toBe(base);
  });
});

describe('renderPlan', () => {
  it('shows per host, in execution order, every command, with secrets redacted', async () => {
    const { plan } = await planWith();
    const text = renderPlan(plan);
    expect(text).not.toContain('tok-secret-1');
    expect(text).toContain('$ printf %s <secret:token> | login --token-stdin --version 2.1.0');
    expect(text).toContain('order: c -> a -> b');
    const order = ['c', 'a', 'b'].map((h) => text.indexOf(`\n  ${h}:\n    - ship [file.upload]\n`));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(text).toContain('/home/release.tar');
    expect(text).toContain('sha256 verified on the host');
    expect(text).toContain("- old-only: skipped on c (when params.version < '2.0' is false)");
  });
});

/** Compiles with the release file (one path for every compile) holding `tar`. */
async function planWith(
  opts: { runbook?: string; version?: string; token?: string; tar?: string; hosts?: string[] } = {},
) {
  writeFileSync(RELEASE, opts.tar ?? 'release 2.1.0');
  const runbook = (opts.runbook ?? RUNBOOK).replace('src: release.tar', `src: ${RELEASE}`);
  return planFixture(
    runbook,
    fakeInventory(opts.hosts ?? ['a', 'b', 'c']),
    { version: opts.version ?? '2.1.0' },
    { DEMO_TOKEN: opts.token ?? 'tok-secret-1' },
  );
}
