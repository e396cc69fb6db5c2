import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runForReal, tempDir, testContext } from './test-support.js';
import { waitFile } from './wait-file.js';

const ctx = testContext();

describe('wait.file', () => {
  it('waits on test -e, keeping the path one word', () => {
    const present = waitFile.plan(
      waitFile.params.parse({ path: "/tmp/a b'; touch /tmp/pwned", state: 'present' }),
      ctx,
    );
    const [action] = present.actions;
    expect(
      action?.type === 'wait' && action.condition.kind === 'command' && action.condition.cmd.render('exec'),
    ).toBe(`test -e '/tmp/a b'\\''; touch /tmp/pwned'`);
    const absent = waitFile.plan(
      waitFile.params.parse({ path: '/var/lib/cmw/hold.lock', state: 'absent' }),
      ctx,
    );
    expect(absent.actions[0]).toMatchObject({
      condition: { kind: 'command', description: '/var/lib/cmw/hold.lock to be gone' },
    });
    expect(
      absent.actions[0]?.type === 'wait' &&
        absent.actions[0].condition.kind === 'command' &&
        String(absent.actions[0].condition.cmd),
    ).toBe('test ! -e /var/lib/cmw/hold.lock');
    expect(() => waitFile.params.parse({ path: '/x', state: 'gone' })).toThrow();
  });

  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());
  it('holds for real once the file appears', () => {
    t = tempDir();
    const [action] = waitFile.plan(
      waitFile.params.parse({ path: `${t.path}/hold.lock`, state: 'present' }),
      ctx,
    ).actions;
    if (action?.type !== 'wait' || action.condition.kind !== 'command')
      throw new Error('expected a command wait');
    expect(runForReal(action.condition.cmd).code).toBe(1);
    writeFileSync(`${t.path}/hold.lock`, '');
    expect(runForReal(action.condition.cmd).code).toBe(0);
  });
});
