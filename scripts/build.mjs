// Bundles the CLI (dist/cli.js) and the demo (dist/demo.js) so they start fast without a TypeScript loader.
// Code splitting: each command's module (a dynamic import in src/cli/commands.ts) becomes its own
// chunk under dist/chunks/, so `cutover --version` or `cutover status` compiles only what it runs.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
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
  // Bundled CommonJS packages (yaml, commander) require Node's built-ins: give the ESM chunks a require.
  banner: {
    js: "import { createRequire as __cutoverRequire } from 'node:module'; const require = __cutoverRequire(import.meta.url);",
  },
});
