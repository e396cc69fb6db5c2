import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type ActionEnv, FakeClock, runAction } from '../actions/index.js';
import { Redactor } from '../shell/secret.js';
import { LocalTransport } from '../transport/local.js';
import type { Action } from './kind.js';
import { tempDir, testContext } from './test-support.js';
import { waitCommand } from './wait-command.js';

const ctx = testContext();

describe('wait.command', () => {
  it('plans one wait on the command, with its interval and output pattern', () => {
    const p = waitCommand.params.parse({
      command: 'kafka-topics.sh --describe --under-replicated-partitions | wc -l',
      output: '^0$',
      interval: '30s',
    });
    const [action] = waitCommand.plan(p, ctx).actions;
    expect(action).toMatchObject({
      type: 'wait',
      intervalMs: 30_000,
      condition: {
        kind: 'command',
        stdoutPattern: '^0$',
        description:
          '`kafka-topics.sh --describe --under-replicated-partitions | …` to print /^0$/ and exit 0',
      },
    });
    expect(
      action?.type === 'wait' && action.condition.kind === 'command' && action.condition.anyExit,
    ).toBeUndefined();
    expect(
      action?.type === 'wait' && action.condition.kind === 'command' && String(action.condition.cmd),
    ).toBe('kafka-topics.sh --describe --under-replicated-partitions | wc -l');
    const inDir = waitCommand.plan(
      waitCommand.params.parse({ command: 'pg_isready', cwd: '/var/lib/a b' }),
      ctx,
    );
    expect(inDir.actions[0]).toMatchObject({
      intervalMs: 5000,
      condition: { description: '`pg_isready` to exit 0' },
    });
    const [a] = inDir.actions;
    expect(a?.type === 'wait' && a.condition.kind === 'command' && a.condition.cmd.render('exec')).toBe(
      "cd '/var/lib/a b' && {\npg_isready\n}",
    );
    expect(waitCommand.readOnly).toBe(true);
  });

  it('refuses what would wait on nothing', () => {
    expect(() => waitCommand.params.parse({ command: 'x', any_exit: true })).toThrow(/any_exit needs output/);
    expect(() => waitCommand.params.parse({ command: 'x', interval: '0s' })).toThrow(/no time at all/);
    expect(() => waitCommand.params.parse({ command: 'x', output: '(' })).toThrow(/invalid regular/);
  });
});

describe('wait.command through the action interpreter, for real', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  let transport: LocalTransport | undefined;
  afterEach(async () => {
    await transport?.close();
    t?.remove();
  });

  async function waitOn(params: unknown, deadlineMs = 60_000) {
    transport ??= new LocalTransport();
    const session = await transport.connect({ name: 'ctl', address: 'localhost' });
    const clock = new FakeClock();
    const env: ActionEnv = {
      session,
      clock,
      deadline: clock.now() + deadlineMs,
      signal: new AbortController().signal,
      ctx,
      stepId: 'wait',
      host: 'ctl',
      marks: [],
      outputs: {},
      redactor: new Redactor(),
      emit: () => {},
      approveGate: async () => false,
      pollIntervalMs: 1,
    };
    const [action] = waitCommand.plan(waitCommand.params.parse(params), ctx).actions;
    return { run: () => runAction(action as Action, env), clock };
  }

  it('polls until the output matches, counting rounds on the host', async () => {
    t = tempDir();
    const n = `${t.path}/n`;
    writeFileSync(n, '0');
    // Prints 3, 2, 1, 0 on successive rounds.
    const w = await waitOn(
      { command: `c=$(cat ${n}); echo $((3 - c)); echo $((c + 1)) > ${n}`, output: '^0$', interval: '30s' },
      120_000,
    );
    const start = w.clock.now();
    await w.run();
    expect(w.clock.now() - start).toBe(90_000);
  });

  it('needs exit 0 as well, unless any_exit; times out showing the last lines', async () => {
    const grepC = { command: "printf 'a\\n' | grep -c zzz", output: '^0$', interval: '1s' };
    const strict = await waitOn(grepC, 3_000);
    await expect(strict.run()).rejects.toThrow(
      /timed out waiting for .*grep -c zzz.*last lines seen:\n {2}\| 0/s,
    );
    const any = await waitOn({ ...grepC, any_exit: true }, 3_000);
    await expect(any.run()).resolves.toBeUndefined();
    const exit = await waitOn({ command: 'test -e /nonexistent-cutover-path', interval: '1s' }, 2_000);
    await expect(exit.run()).rejects.toThrow(
      /timed out waiting for `test -e \/nonexistent-cutover-path` to exit 0/,
    );
  });
});
