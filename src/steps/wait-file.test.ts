import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runForReal, runForRealAsync, SHELLS, tempDir, testContext } from './test-support.js';
import { FILE_WATCH_CAP_SEC, fileWaitCommand, waitFile } from './wait-file.js';

const ctx = testContext();

/** Resolves once an inotifywait on `folder` runs with its watch set up: the barrier for a change. */
async function watching(folder: string): Promise<void> {
  for (;;) {
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    if (ps.split('\n').some((l) => l.startsWith('inotifywait ') && l.endsWith(`-- ${folder}`))) return;
    await new Promise<void>((r) => setImmediate(r));
  }
}

describe('wait.file', () => {
  it('plans one check that waits on the host, keeping the path one word', () => {
    const [action] = waitFile.plan(
      waitFile.params.parse({ path: "/tmp/a b'; touch /tmp/pwned", state: 'present' }),
      ctx,
    ).actions;
    expect(action).toMatchObject({
      type: 'wait',
      condition: {
        kind: 'command',
        description: "/tmp/a b'; touch /tmp/pwned to exist",
        hostWaits: { capSec: 5 },
      },
    });
    const cmd =
      action?.type === 'wait' && action.condition.kind === 'command' ? action.condition.cmd : undefined;
    expect(cmd?.render('exec')).toBe(
      [
        `p='/tmp/a b'\\''; touch /tmp/pwned'; held() { [ -e "$p" ]; }`,
        'held && exit 0',
        'how=polled',
        'if command -v inotifywait >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1 && t=$(mktemp -d 2>/dev/null); then',
        '  if mkfifo "$t/e"; then',
        `    d=\${p%/*}`,
        `    timeout --foreground ${FILE_WATCH_CAP_SEC} inotifywait -m -e create,moved_to,delete,moved_from,delete_self,move_self -- "\${d:-/}" >"$t/e" 2>&1 &`,
        '    w=$!',
        '    while IFS= read -r l; do',
        '      case $l in',
        `        'Watches established.') how=inotifywait; held && break ;;`,
        '        *) [ "$how" = inotifywait ] && held && break ;;',
        '      esac',
        '    done <"$t/e"',
        '    kill "$w" 2>/dev/null',
        '    wait "$w" 2>/dev/null',
        '  fi',
        '  rm -rf "$t"',
        'fi',
        'held && exit 0',
        'echo "waited: $how"',
        'exit 1',
      ].join('\n'),
    );
    const absent = waitFile.plan(
      waitFile.params.parse({ path: '/var/lib/cmw/hold.lock', state: 'absent' }),
      ctx,
    );
    expect(absent.actions[0]).toMatchObject({
      condition: { kind: 'command', description: '/var/lib/cmw/hold.lock to be gone' },
    });
    expect(() => waitFile.params.parse({ path: '/x', state: 'gone' })).toThrow();
  });

  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());

  describe.each(SHELLS)('under %s', (shell) => {
    it('answers at once when the path is already as awaited', () => {
      t = tempDir();
      writeFileSync(`${t.path}/hold.lock`, '');
      expect(runForReal(fileWaitCommand(`${t.path}/hold.lock`, 'present', 30), {}, shell)).toMatchObject({
        code: 0,
        stdout: '',
      });
      expect(runForReal(fileWaitCommand(`${t.path}/other`, 'absent', 30), {}, shell).code).toBe(0);
    });

    it('answers as the file appears, and as it goes, while the host watches the folder', async () => {
      t = tempDir();
      const lock = `${t.path}/hold.lock`;
      const appears = runForRealAsync(fileWaitCommand(lock, 'present', 30), shell);
      await watching(t.path);
      writeFileSync(lock, '');
      expect(await appears).toMatchObject({ code: 0, stdout: '' });
      const goes = runForRealAsync(fileWaitCommand(lock, 'absent', 30), shell);
      await watching(t.path);
      rmSync(lock);
      expect(await goes).toMatchObject({ code: 0, stdout: '' });
    });

    it('says "not yet" after its cap, naming how it waited', () => {
      t = tempDir();
      expect(runForReal(fileWaitCommand(`${t.path}/hold.lock`, 'present', 1), {}, shell)).toMatchObject({
        code: 1,
        stdout: 'waited: inotifywait\n',
      });
    });

    it('a host without inotifywait, or without the folder, answers at once: polled', () => {
      t = tempDir();
      // A PATH that holds the shell alone: a host without inotifywait (only builtins run then).
      mkdirSync(`${t.path}/bin`);
      symlinkSync(
        execFileSync('sh', ['-c', `command -v ${shell}`], { encoding: 'utf8' }).trim(),
        `${t.path}/bin/${shell}`,
      );
      const bare = runForReal(
        fileWaitCommand(`${t.path}/hold.lock`, 'present', 30),
        { PATH: `${t.path}/bin` },
        shell,
      );
      expect(bare).toMatchObject({ code: 1, stdout: 'waited: polled\n' });
      mkdirSync(`${t.path}/sub`);
      rmSync(`${t.path}/sub`, { recursive: true });
      expect(runForReal(fileWaitCommand(`${t.path}/sub/hold.lock`, 'present', 30), {}, shell)).toMatchObject({
        code: 1,
        stdout: 'waited: polled\n',
      });
    });
  });
});
