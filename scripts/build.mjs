// Bundles the CLI (dist/cli.js) and the demo (dist/demo.js) so they start fast without a TypeScript loader.
// Code splitting: each command's module (a dynamic import in src/cli/commands.ts) becomes its own
// chunk under dist/chunks/, so `cutover --version` or `cutover status` compiles only what it runs.
// The dependencies are bundled too: a chunk is one file to read, not a package's hundred modules
// to resolve at every start.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const result = await build({
  entryPoints: { cli: 'src/cli/main.ts', demo: 'scripts/demo.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
  // Bundled CommonJS packages (yaml, commander) require Node's built-ins: give the ESM chunks a require.
  banner: {
    js: "import { createRequire as __cutoverRequire } from 'node:module'; const require = __cutoverRequire(import.meta.url);",
  },
});

// Chunks of earlier builds stay a day: a CLI started before this build (a long apply, tests
// running beside a rebuild) may still import them. Older ones, not this build's, are removed.
const current = new Set(Object.keys(result.metafile.outputs).map((f) => relative('dist/chunks', f)));
const dayAgo = Date.now() - 24 * 3600_000;
if (existsSync('dist/chunks'))
  for (const name of readdirSync('dist/chunks')) {
    const file = join('dist/chunks', name);
    if (!current.has(name) && statSync(file).mtimeMs < dayAgo) rmSync(file, { force: true });
  }
