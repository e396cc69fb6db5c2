import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff.js';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'x')).toBe('');
  });

  it('shows one change with 3 lines of context and labelled headers', () => {
    const before = 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n';
    const after = 'l1\nl2\nl3\nl4\nL5\nl6\nl7\nl8\n';
    expect(unifiedDiff(before, after, 'web:/etc/app.yml')).toBe(
      [
        '--- web:/etc/app.yml (before)',
        '+++ web:/etc/app.yml (after)',
        '@@ -2,7 +2,7 @@',
        ' l2',
        ' l3',
        ' l4',
        '-l5',
        '+L5',
        ' l6',
        ' l7',
        ' l8',
        '',
      ].join('\n'),
    );
  });

  it('joins changes whose context touches and splits distant ones', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const after = [...lines];
    after[4] = 'changed 5';
    after[11] = 'changed 12'; // 6 lines between: one hunk
    after[25] = 'changed 26'; // far away: its own hunk
    const diff = unifiedDiff(`${lines.join('\n')}\n`, `${after.join('\n')}\n`, 'f');
    expect(diff.split('\n').filter((l) => l.startsWith('@@'))).toEqual([
      '@@ -2,14 +2,14 @@',
      '@@ -23,7 +23,7 @@',
    ]);
    // 7 unchanged lines between two changes are more than two contexts: two hunks, as GNU diff makes.
    after[11] = lines[11]!;
    after[12] = 'changed 13';
    const split = unifiedDiff(`${lines.join('\n')}\n`, `${after.join('\n')}\n`, 'f');
    expect(split.split('\n').filter((l) => l.startsWith('@@'))).toEqual([
      '@@ -2,7 +2,7 @@',
      '@@ -10,7 +10,7 @@',
      '@@ -23,7 +23,7 @@',
    ]);
  });

  it('uses GNU conventions for insertions at the top, deletions to empty, and a missing final newline', () => {
    expect(unifiedDiff('', 'a\n', 'f')).toBe('--- f (before)\n+++ f (after)\n@@ -0,0 +1 @@\n+a\n');
    expect(unifiedDiff('a\nb\n', '', 'f')).toBe('--- f (before)\n+++ f (after)\n@@ -1,2 +0,0 @@\n-a\n-b\n');
    expect(unifiedDiff('a\nb', 'a\nb\n', 'f')).toBe(
      '--- f (before)\n+++ f (after)\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n',
    );
  });

  it('shows CRLF lines without their terminator', () => {
    expect(unifiedDiff('a\r\nb\r\n', 'a\r\nc\r\n', 'f')).toBe(
      '--- f (before)\n+++ f (after)\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n',
    );
  });
});

describe('unifiedDiff against GNU diff and patch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-diff-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A deterministic generator, so a failure reproduces.
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const vocabulary = ['listen 80;', '}', '', '# comment', 'proxy_pass http://a;', 'a: 1', 'b: 2', '  - x'];
  const randomFile = (length: number) =>
    Array.from({ length }, () => vocabulary[Math.floor(random() * vocabulary.length)]!).join('\n') +
    (random() < 0.8 ? '\n' : '');
  const mutate = (text: string) => {
    const lines = text.split('\n');
    for (let edits = 1 + Math.floor(random() * 4); edits > 0; edits--) {
      const at = Math.floor(random() * (lines.length + 1));
      const what = random();
      if (what < 0.4) lines.splice(at, 1);
      else if (what < 0.7) lines.splice(at, 0, `inserted ${edits}`);
      else lines[at] = `replaced ${edits}`;
    }
    return lines.join('\n');
  };

  it('produces patches that GNU patch applies exactly, with as many changed lines as GNU diff', () => {
    for (let round = 0; round < 40; round++) {
      const before = randomFile(5 + Math.floor(random() * 40));
      const after = mutate(before);
      const diff = unifiedDiff(before, after, 'file');
      const file = join(dir, 'file');
      writeFileSync(file, before);
      writeFileSync(join(dir, 'after'), after);
      writeFileSync(join(dir, 'change.diff'), diff);
      if (before === after) {
        expect(diff).toBe('');
        continue;
      }
      const patched = spawnSync('patch', ['--silent', '--force', file, join(dir, 'change.diff')], {
        encoding: 'utf8',
      });
      expect(patched.status, `${patched.stdout}${patched.stderr}\n${diff}`).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(after);

      const count = (text: string) => text.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l)).length;
      writeFileSync(join(dir, 'file.orig'), before);
      const reference = spawnSync('diff', ['-u', join(dir, 'file.orig'), join(dir, 'after')], {
        encoding: 'utf8',
      });
      expect(reference.status).toBe(1);
      expect(count(diff)).toBe(count(reference.stdout));
    }
  });
});
