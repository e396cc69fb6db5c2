/**
 * The layout's rules, checked against the real import graph of src/ (relative imports and
 * export-froms, type-only ones included, found by the TypeScript pre-processor):
 *
 * 1. No cycle between the top-level folders of src/ (a root file such as `errors.ts` is its own node).
 * 2. The pure folders (steps, shell, plan, runbook, inventory, source, journal) import nothing from
 *    engine, transport, ui, cli, state or actions.
 * 3. Product files never import test code: `*.test.ts`, anything under a `testing/` folder, any
 *    `*test-support*` file, or the top-level `test/` folder; and test helpers under `testing/`
 *    are imported only by tests (`*.test.ts`) and by each other, never by a helper living in a
 *    product folder (which would pull them into that folder's graph).
 * 4. ui reaches the engine only through its public interface, `src/engine/index.ts`.
 *
 * Rules 1, 2 and 4 hold for product files (what ships); a test may import what it tests. Every
 * violation names `importer -> imported`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** One import: repo-relative paths with `/`. Example: `{ from: 'src/ui/tty.ts', to: 'src/journal/events.ts' }`. */
interface Edge {
  from: string;
  to: string;
}

const PURE = ['steps', 'shell', 'plan', 'runbook', 'inventory', 'source', 'journal'];
const IMPURE = ['engine', 'transport', 'ui', 'cli', 'state', 'actions'];

/** Every `.ts` file under `dir`, repo-relative. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative imports of one file, once each, resolved to repo-relative `.ts` paths (`./x.js` -> `x.ts`, a folder -> its index.ts). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  const targets = info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (target.endsWith('.js')) return target.replace(/\.js$/, '.ts');
      // `./x.ts` or `./data.json` as written; a bare folder means its index.ts.
      return /\.\w+$/.test(target) ? target : `${target}/index.ts`;
    });
  return [...new Set(targets)];
}

/** The import graph of src/. */
function importGraph(): Edge[] {
  return sourceFiles('src').flatMap((from) => importsOf(from).map((to) => ({ from, to })));
}

/** Test-only code. Example: isTestCode('src/testing/plan-fixture.ts') -> true. */
function isTestCode(path: string): boolean {
  const parts = path.split('/');
  return (
    path.endsWith('.test.ts') ||
    parts[0] === 'test' ||
    parts.includes('testing') ||
    (parts.at(-1) ?? '').includes('test-support')
  );
}

/** The top-level folder of a src/ file, or the file itself at the root. Example: 'src/ui/dashboard/page.ts' -> 'ui'. */
function folderOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts[0] === 'src' ? parts[1] : undefined;
}

const show = (e: Edge) => `${e.from} -> ${e.to}`;
const product = (edges: Edge[]) => edges.filter((e) => e.from.startsWith('src/') && !isTestCode(e.from));

/** Rule 1: each cycle between folders, with the file imports that make it. */
function folderCycles(edges: Edge[]): string[] {
  const between = product(edges).filter((e) => {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    return a !== undefined && b !== undefined && a !== b;
  });
  const next = new Map<string, Set<string>>();
  for (const e of between) {
    const a = folderOf(e.from) as string;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)?.add(folderOf(e.to) as string);
  }
  const reaches = (start: string, goal: string): boolean => {
    const seen = new Set<string>();
    const todo = [start];
    while (todo.length > 0) {
      const f = todo.pop() as string;
      if (f === goal) return true;
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(...(next.get(f) ?? []));
    }
    return false;
  };
  // A folder import is part of a cycle when the imported folder leads back to the importer.
  return between
    .filter((e) => reaches(folderOf(e.to) as string, folderOf(e.from) as string))
    .map((e) => `folder cycle ${folderOf(e.from)} <-> ${folderOf(e.to)}: ${show(e)}`);
}

/** Rule 2: pure folders importing impure ones. */
function impureImports(edges: Edge[]): string[] {
  return product(edges)
    .filter((e) => PURE.includes(folderOf(e.from) ?? '') && IMPURE.includes(folderOf(e.to) ?? ''))
    .map((e) => `${folderOf(e.from)}/ must not import ${folderOf(e.to)}/: ${show(e)}`);
}

/** Rule 3: product files importing test code, and `testing/` helpers imported by anything but tests. */
function testCodeImports(edges: Edge[]): string[] {
  const inTesting = (path: string) => path.split('/').includes('testing');
  return [
    ...product(edges)
      .filter((e) => isTestCode(e.to))
      .map((e) => `product code must not import test code: ${show(e)}`),
    ...edges
      .filter((e) => inTesting(e.to) && !e.from.endsWith('.test.ts') && !inTesting(e.from))
      .map((e) => `only tests import testing/ helpers: ${show(e)}`),
  ];
}

/** Rule 4: ui importing engine files other than engine/index.ts. */
function engineInternalsInUi(edges: Edge[]): string[] {
  return product(edges)
    .filter((e) => folderOf(e.from) === 'ui' && folderOf(e.to) === 'engine' && e.to !== 'src/engine/index.ts')
    .map((e) => `ui/ imports the engine only through src/engine/index.ts: ${show(e)}`);
}

describe('architecture (the import graph of src/)', () => {
  const edges = importGraph();

  it('reads the real graph', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'src/cli/main.ts', to: 'src/errors.ts' });
    // Multi-line imports, export-froms and type-only imports count.
    expect(edges).toContainEqual({ from: 'src/runbook/load.ts', to: 'src/runbook/schema.ts' });
    expect(edges).toContainEqual({ from: 'src/engine/index.ts', to: 'src/state/index.ts' });
    expect(edges).toContainEqual({ from: 'src/inventory/load.ts', to: 'src/source/yaml.ts' });
  });

  it('has no cycle between top-level folders', () => {
    expect(folderCycles(edges)).toEqual([]);
  });

  it('keeps steps, shell, plan, runbook, inventory, source and journal free of engine, transport, ui, cli, state and actions', () => {
    expect(impureImports(edges)).toEqual([]);
  });

  it('never imports test code from product code', () => {
    expect(testCodeImports(edges)).toEqual([]);
  });

  it('lets ui reach the engine only through src/engine/index.ts', () => {
    expect(engineInternalsInUi(edges)).toEqual([]);
  });
});

describe('architecture rules (each fails on a violation)', () => {
  const bad: Edge[] = [
    { from: 'src/runbook/load.ts', to: 'src/inventory/model.ts' },
    { from: 'src/inventory/load.ts', to: 'src/runbook/model.ts' },
    { from: 'src/plan/compile.ts', to: 'src/engine/engine.ts' },
    { from: 'src/ui/test-support.ts', to: 'src/testing/engine-fixture.ts' },
    { from: 'src/ui/run-view.ts', to: 'src/steps/test-support.ts' },
    { from: 'src/ui/dashboard/server.ts', to: 'src/engine/lock.ts' },
    // Allowed: tests may import anything; helpers may import each other; ui may use the engine's index.
    { from: 'src/runbook/load.test.ts', to: 'src/engine/engine.ts' },
    { from: 'src/ui/run-view.test.ts', to: 'src/testing/sample-run.ts' },
    { from: 'src/testing/sample-run.ts', to: 'src/testing/engine-fixture.ts' },
    { from: 'src/ui/tty.ts', to: 'src/engine/index.ts' },
  ];

  it('names both ends of a folder cycle', () => {
    expect(folderCycles(bad)).toEqual([
      'folder cycle runbook <-> inventory: src/runbook/load.ts -> src/inventory/model.ts',
      'folder cycle inventory <-> runbook: src/inventory/load.ts -> src/runbook/model.ts',
    ]);
  });

  it('names a pure folder importing an impure one', () => {
    expect(impureImports(bad)).toEqual([
      'plan/ must not import engine/: src/plan/compile.ts -> src/engine/engine.ts',
    ]);
  });

  it('names product code importing test code', () => {
    expect(testCodeImports(bad)).toEqual([
      'product code must not import test code: src/ui/run-view.ts -> src/steps/test-support.ts',
      'only tests import testing/ helpers: src/ui/test-support.ts -> src/testing/engine-fixture.ts',
    ]);
  });

  it('names ui importing engine internals', () => {
    expect(engineInternalsInUi(bad)).toEqual([
      'ui/ imports the engine only through src/engine/index.ts: src/ui/dashboard/server.ts -> src/engine/lock.ts',
    ]);
  });
});
