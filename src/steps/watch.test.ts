import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { runForReal, SHELLS, tempDir } from './test-support.js';
import { waitLog } from './wait-log.js';
import { watchGuard, watchParam } from './watch.js';

const t = tempDir();
afterAll(() => t.remove());

/** A PATH whose `systemctl is-active` prints `state` (and exits as systemd does). */
function systemctlSaying(state: string): Record<string, string> {
  const bin = `${t.path}/bin-${state}`;
  mkdirSync(bin, { recursive: true });
  // Strict about its arguments, as the lab's stand-in is: `is-active UNIT` and nothing else.
  writeFileSync(
    `${bin}/systemctl`,
    `#!/bin/sh\n[ "$#" = 2 ] && [ "$1" = is-active ] && [ "$2" = comindwarecmw ] || { echo "bad args: $*" >&2; exit 64; }\necho ${state}\n[ ${state} = active ]\n`,
  );
  chmodSync(`${bin}/systemctl`, 0o755);
  return { PATH: `${bin}:${process.env.PATH}` };
}

describe.each(SHELLS)('watch under %s, for real', (shell) => {
  const guard = (w: unknown) => watchGuard(watchParam.parse(w)).cmd;

  it('is quiet while the unit is active or activating', () => {
    for (const state of ['active', 'activating']) {
      const r = runForReal(guard({ unit: 'comindwarecmw' }), systemctlSaying(state), shell);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('says the unit died when it is failed, inactive or stopping', () => {
    for (const state of ['failed', 'inactive', 'deactivating']) {
      const r = runForReal(guard({ unit: 'comindwarecmw' }), systemctlSaying(state), shell);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`unit comindwarecmw is ${state}\n`);
    }
  });

  it('says so when it cannot see the unit, instead of watching nothing', () => {
    const r = runForReal(guard({ unit: 'other' }), systemctlSaying('active'), shell);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('cannot tell the state of unit other (systemctl is-active printed nothing)\n');
  });

  it('watches a process by its command line', () => {
    const gone = runForReal(guard({ process: 'no-such-process-cutover-[0-9]{9}' }), {}, shell);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('no process matches /no-such-process-cutover-[0-9]{9}/ any more\n');
    // Its own shell holds the pattern in its command line, and does not count; a real process does.
    const tag = `9${process.pid}.${shell === 'dash' ? 1 : 2}`; // a sleep no other process runs
    expect(runForReal(guard({ process: `^sleep ${tag.replace('.', '\\.')}$` }), {}, shell).code).toBe(1);
    const sleeper = spawn('sleep', [tag], { stdio: 'ignore' });
    try {
      expect(runForReal(guard({ process: `^sleep ${tag.replace('.', '\\.')}$` }), {}, shell).code).toBe(0);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});

describe('watch params', () => {
  it('needs a unit or a process, refuses a pattern that is an option', () => {
    expect(() => watchParam.parse({})).toThrow(/name a unit, a process, or both/);
    expect(() => watchParam.parse({ process: '-x' })).toThrow(/may not begin with -/);
    expect(() => watchParam.parse({ unit: 'a b' })).toThrow(/systemd unit name/);
  });

  it('puts the guard on the wait, and the plan says what it watches', () => {
    const p = waitLog.params.parse({ path: '/var/log/x.log', pattern: 'ready', watch: { unit: 'app' } });
    const [wait] = waitLog.plan(p, {} as never).actions;
    expect(wait?.type === 'wait' && wait.condition.kind === 'log' && wait.condition.guard?.description).toBe(
      'watching unit app',
    );
  });

  it('a wait after service.start watches that unit unless it names its own', async () => {
    const fx = await planFixture(
      `
name: w
phases:
  - id: up
    name: up
    hosts: [a]
    steps:
      - id: start
        service.start: { unit: app }
      - id: ready
        wait.log: { path: /var/log/app.log, pattern: started }
      - id: own
        wait.log: { path: /var/log/app.log, pattern: serving, since: start, watch: { process: "java .*app" } }
      - id: note
        shell.run: { command: "true" }
      - id: after-shell
        wait.log: { path: /var/log/app.log, pattern: later }
`,
      fakeInventory(['a']),
    );
    const steps = fx.plan.phases[0]?.steps.a ?? [];
    const watch = (id: string) =>
      (steps.find((s) => s.stepId === id)?.params as { watch?: unknown } | undefined)?.watch;
    expect(String((watch('ready') as { unit: unknown }).unit)).toBe('app');
    expect(watch('own')).toEqual({ process: 'java .*app' });
    expect(watch('after-shell')).toBeUndefined();
  });
});
