/**
 * `npm run build:exe` smoke test: the single-file bundle (what the executable runs) answers --version and
 * validates an example under plain Node; with postject installed the executable itself is built and does the
 * same (postject is a pinned devDependency, so nothing here is skipped).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = [
  'validate',
  '-r',
  'examples/comindware/runbook.yml',
  '-i',
  'examples/comindware/inventory.lab.yml',
];

function hasPostject(): boolean {
  try {
    createRequire(join(ROOT, 'package.json')).resolve('postject/package.json');
    return true;
  } catch {
    return false;
  }
}

function run(file: string, args: string[], node = false) {
  const res = node
    ? spawnSync(process.execPath, [file, ...args], { cwd: ROOT, encoding: 'utf8' })
    : spawnSync(file, args, { cwd: ROOT, encoding: 'utf8' });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('single executable (build:exe)', () => {
  it('the CommonJS bundle the executable runs answers --version and validates an example', () => {
    const built = spawnSync(process.execPath, ['scripts/build-exe.mjs', '--bundle-only'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(built.status, built.stderr).toBe(0);
    const bundle = join(ROOT, 'dist', 'sea', 'cutover.cjs');
    expect(run(bundle, ['--version'], true).stdout.trim()).toBe('0.1.0');
    const valid = run(bundle, EXAMPLE, true);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toContain('valid against');
  }, 60_000);

  it('the executable itself (postject is a devDependency: a missing one fails here, it is not skipped)', () => {
    expect(hasPostject(), 'postject is a devDependency: run npm ci').toBe(true);
    const built = spawnSync(process.execPath, ['scripts/build-exe.mjs'], { cwd: ROOT, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const exe = join(ROOT, 'dist', 'cutover');
    expect(run(exe, ['--version']).stdout.trim()).toBe('0.1.0');
    const valid = run(exe, EXAMPLE);
    expect(valid.code, valid.stderr).toBe(0);
  }, 180_000);
});
