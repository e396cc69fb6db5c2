import { afterEach, describe, expect, it } from 'vitest';
import { commandLine, sudoStart } from './become.js';
import { LocalTransport } from './local.js';

describe('sudoStart', () => {
  it('starts the driver under sudo with a random prompt and mark, and no password in argv', () => {
    const a = sudoStart('postgres');
    const b = sudoStart('postgres');
    expect(a.argv.slice(0, 2)).toEqual(['sudo', '-S']);
    expect(a.argv).toContain('postgres');
    expect(a.prompt).not.toBe(b.prompt);
    expect(a.mark).not.toBe(b.mark);
    expect(a.argv.at(-1)).toContain(a.mark);
    expect(commandLine(['sudo', '-u', 'a b'])).toBe("exec sudo -u 'a b'");
  });
});

// The controller runs the tests as root, so sudo to another user needs no password: this checks the
// shell really runs as the target user and sudo's refusals become clear errors. The password
// paths run for real in the lab (examples/comindware/become.e2e.test.ts).
describe.runIf(process.getuid?.() === 0)('local become (real sudo)', () => {
  const t = new LocalTransport({ cwd: '/' });
  afterEach(() => t.close());

  it('runs the session as the become user, once per session', async () => {
    const s = await t.connect({ name: 'ctl', address: 'localhost', become: { user: 'nobody' } });
    expect(s.user).toBe('nobody');
    const first = await s.exec('id -un; echo $HOME');
    const second = await s.exec('id -un');
    expect(first.stdout.split('\n')[0]).toBe('nobody');
    expect(second.stdout.trim()).toBe('nobody');
  });

  it('names an unknown become user and changes nothing', async () => {
    await expect(
      t.connect({ name: 'ctl', address: 'localhost', become: { user: 'no-such-user-xyz' } }),
    ).rejects.toThrow(/sudo -u no-such-user-xyz: the user no-such-user-xyz does not exist/);
  });

  it('reports the login user without become', async () => {
    const s = await t.connect({ name: 'ctl', address: 'localhost' });
    expect(s.user).toBe('root');
  });
});
