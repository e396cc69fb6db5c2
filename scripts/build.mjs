// Bundles the CLI (dist/cli.js) and the demo (dist/demo.js) so they start fast without a TypeScript loader.
import { build } from 'esbuild';

await build({
  entryPoints: { cli: 'src/cli/main.ts', demo: 'scripts/demo.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
