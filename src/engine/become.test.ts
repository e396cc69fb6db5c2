/**
 * become (issue 12): who each step runs as, from the inventory, the phase and the step; one
 * session per host and user, all opened (and their working folders checked) before anything
 * changes. The sudo handshake itself runs for real: src/transport/become.test.ts and the lab's
 * examples/comindware/become.e2e.test.ts.
 */
import { chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PreflightError } from '../errors.js';
import { MemoryJournal } from '../journal/file-store.js';
import { renderPlan } from '../plan/render.js';
import { renderPlanSummary } from '../plan/summary.js';
import { allSteps } from '../plan/types.js';
import { engineFor } from '../testing/engine-fixture.js';
import { planFixture } from '../testing/plan-fixture.js';
import { LocalTransport } from '../transport/local.js';
import { RecordingTransport } from '../transport/recording.js';

const INVENTORY = `
defaults: { become: true }
hosts:
  a: { address: 10.9.0.1, roles: [app] }
  b: { address: 10.9.0.2, roles: [app], become: false }
  c: { address: 10.9.0.3, roles: [app], become_user: ops }
`;

const RUNBOOK = `
name: privilege
phases:
  - id: up
    hosts: { roles: [app] }
    steps:
      - id: default
        shell.run: { command: "true" }
      - id: login
        become: false
        shell.run: { command: "true" }
      - id: pg
        become_user: postgres
        shell.run: { command: "true" }
  - id: as-login
    hosts: { roles: [app] }
    become: false
    steps:
      - id: inherit
        shell.run: { command: "true" }
      - id: back-on
        become: true
        shell.run: { command: "true" }
`;

describe('become: who runs each step', () => {
  it('takes the step, else the phase, else the host; become_user turns it on; false means the login user', async () => {
    const fx = await planFixture(RUNBOOK, INVENTORY);
    const runAs = Object.fromEntries(allSteps(fx.plan).map((s) => [s.id, s.runAs ?? '(login)']));
    expect(runAs).toEqual({
      'up/default@a': 'root',
      'up/default@b': '(login)',
      'up/default@c': 'ops',
      'up/login@a': '(login)',
      'up/login@b': '(login)',
      'up/login@c': '(login)',
      'up/pg@a': 'postgres',
      'up/pg@b': 'postgres',
      'up/pg@c': 'postgres',
      'as-login/inherit@a': '(login)',
      'as-login/inherit@b': '(login)',
      'as-login/inherit@c': '(login)',
      // The phase turned it off; the step turns it on again, as the host's user.
      'as-login/back-on@a': 'root',
      'as-login/back-on@b': 'root',
      'as-login/back-on@c': 'ops',
    });
  });

  it('is part of the plan hash only where it is used (plans without become keep their hash)', async () => {
    const plain = `hosts:\n  a: { address: 10.9.0.1, roles: [app] }\n`;
    const rb = `name: x\nphases:\n  - id: p\n    hosts: { roles: [app] }\n    steps:\n      - shell.run: { command: "true" }\n`;
    const without = (await planFixture(rb, plain)).plan;
    const again = (await planFixture(rb, `defaults: { become: false }\n${plain}`)).plan;
    const withBecome = (await planFixture(rb, `defaults: { become: true }\n${plain}`)).plan;
    expect(again.hash).toBe(without.hash);
    expect(withBecome.hash).not.toBe(without.hash);
  });

  it('the plan says who runs each step: the summary and plan -v', async () => {
    const fx = await planFixture(RUNBOOK, INVENTORY);
    const summary = renderPlanSummary(fx.plan);
    expect(summary).toMatch(/pg: shell\.run: .*; as postgres \(sudo\)/);
    expect(summary).toMatch(/login: shell\.run: [^\n]*undo: [^\n;]*$/m);
    const exact = renderPlan(fx.plan);
    expect(exact).toContain('- default [shell.run] (as root through sudo)');
    expect(exact).toContain('- default [shell.run] (as ops through sudo)');
    expect(exact).toMatch(/- login \[shell\.run\]\n/);
  });

  it('opens one session per host and user before anything runs, and runs each step in its own', async () => {
    const fx = await planFixture(RUNBOOK, INVENTORY);
    const rec = new RecordingTransport();
    const opened: string[] = [];
    const engine = engineFor(fx, rec, new MemoryJournal(), {
      connect: (h, runAs) => {
        opened.push(`${h.name}:${runAs ?? '(login)'}`);
        return rec.connect({ name: runAs ? `${h.name}:${runAs}` : h.name, address: h.address });
      },
    });
    await engine.apply();
    expect(opened.sort()).toEqual([
      'a:(login)',
      'a:postgres',
      'a:root',
      'b:(login)',
      'b:postgres',
      'b:root',
      'c:(login)',
      'c:ops',
      'c:postgres',
    ]);
    // Each step ran in the session of its user.
    const ran = rec.calls.filter((c) => c.type === 'exec').map((c) => c.host);
    expect(ran.filter((h) => h === 'a:postgres')).toHaveLength(1);
    expect(ran.filter((h) => h === 'c:ops')).toHaveLength(2);
  });
});

describe.runIf(process.getuid?.() === 0)('the working folder on the host (local transport, for real)', () => {
  const RB = `name: w\nphases:\n  - id: p\n    hosts: [me]\n    steps:\n      - shell.run: { command: "true" }\n`;
  const INV = `hosts:\n  me: { address: localhost, transport: local }\n`;

  it('refuses, before anything runs, a folder another user left, naming its owner and the fix', async () => {
    const fx = await planFixture(RB, INV);
    const root = join(mkdtempSync(join(tmpdir(), 'cutover-workroot-')), 'cutover');
    mkdirSync(root);
    chownSync(root, 65534, 65534);
    const local = new LocalTransport();
    const journal = new MemoryJournal();
    const engine = engineFor(fx, new RecordingTransport(), journal, {
      connect: (h) => local.connect({ name: h.name, address: h.address }),
      remoteRunRoot: root,
    });
    const error = await engine.apply().catch((e: unknown) => e);
    await local.close();
    expect(error).toBeInstanceOf(PreflightError);
    expect((error as Error).message).toMatch(
      new RegExp(`me: cutover's working folder ${root} belongs to nobody; steps there run as root`),
    );
    expect(journal.read('r1').some((e) => e.type === 'step.started')).toBe(false);
  });

  it('accepts a folder of its own user, and one it can make', async () => {
    const fx = await planFixture(RB, INV);
    const parent = mkdtempSync(join(tmpdir(), 'cutover-workroot-'));
    const local = new LocalTransport();
    const engine = engineFor(fx, new RecordingTransport(), new MemoryJournal(), {
      connect: (h) => local.connect({ name: h.name, address: h.address }),
      remoteRunRoot: join(parent, 'not-yet'),
    });
    await expect(engine.apply()).resolves.toBe('succeeded');
    await local.close();
  });
});
