import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveExtract } from './archive-extract.js';
import { commandsOf, runActionsForReal, runForReal, SHELLS, tempDir, testContext } from './test-support.js';

const ctx = testContext();
const plan = (p: Record<string, unknown>) => archiveExtract.plan(archiveExtract.params.parse(p), ctx);

describe('archive.extract', () => {
  it('extracts into the folder and labels the effect as not predictable', () => {
    const planned = plan({ archive: '/home/ecsc.tar', dest: '/home' });
    expect(commandsOf(planned.actions)).toEqual(['tar -x -f /home/ecsc.tar -C /home']);
    expect(planned.unpredictable).toBe(
      "writes the archive's entries under /home, replacing files of the same name (list them with tar -tf /home/ecsc.tar)",
    );
    expect(planned.probe).toBeUndefined();
    expect(archiveExtract.compensate).toBeUndefined();
  });

  it('skips when creates exists, strips components, and quotes hostile paths', () => {
    const planned = plan({
      archive: "/mnt/shared/a b'; touch /tmp/pwned.tar.gz",
      dest: '/mnt/shared',
      creates: '/mnt/shared/CMW_5.0',
      strip: 1,
    });
    expect(commandsOf(planned.actions)).toEqual([
      [
        'if [ -e /mnt/shared/CMW_5.0 ]; then',
        `  printf 'archive.extract: nothing to do: %s exists\\n' /mnt/shared/CMW_5.0 >&2`,
        'else',
        `  tar -x -f '/mnt/shared/a b'\\''; touch /tmp/pwned.tar.gz' -C /mnt/shared --strip-components=1`,
        'fi',
      ].join('\n'),
    ]);
    expect(String(planned.probe?.cmd)).toBe('test -e /mnt/shared/CMW_5.0');
  });

  it('refuses relative paths and negative strips', () => {
    expect(() => archiveExtract.params.parse({ archive: 'ecsc.tar', dest: '/home' })).toThrow(/absolute/);
    expect(() => archiveExtract.params.parse({ archive: '/a.tar', dest: '/home', strip: -1 })).toThrow();
  });
});

describe.each(SHELLS)('archive.extract under %s, for real', (shell) => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.remove());

  it('extracts, then the probe sees the created path', () => {
    t = tempDir();
    mkdirSync(`${t.path}/src/ecsc`, { recursive: true });
    writeFileSync(`${t.path}/src/ecsc/index.html`, 'v2');
    execFileSync('tar', ['-cf', `${t.path}/ecsc.tar`, '-C', `${t.path}/src`, 'ecsc']);
    mkdirSync(`${t.path}/home`);
    const planned = archiveExtract.plan(
      archiveExtract.params.parse({
        archive: `${t.path}/ecsc.tar`,
        dest: `${t.path}/home`,
        creates: `${t.path}/home/ecsc/index.html`,
      }),
      ctx,
    );
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(1);
    expect(runActionsForReal(planned.actions, shell).ok).toBe(true);
    expect(readFileSync(`${t.path}/home/ecsc/index.html`, 'utf8')).toBe('v2');
    expect(runForReal(planned.probe!.cmd, {}, shell).code).toBe(0);
    writeFileSync(`${t.path}/home/ecsc/index.html`, 'changed since');
    const again = runActionsForReal(planned.actions, shell);
    expect(again.last).toMatchObject({
      code: 0,
      stdout: '',
      stderr: `archive.extract: nothing to do: ${t.path}/home/ecsc/index.html exists\n`,
    });
    expect(readFileSync(`${t.path}/home/ecsc/index.html`, 'utf8')).toBe('changed since');
  });
});
