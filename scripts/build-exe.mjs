// `npm run build:exe`: cutover as one file for a jump host with no Node, with Node's single executable
// application (SEA, Node 20: `node --experimental-sea-config`). Three steps:
//   1. esbuild bundles the CLI and every dependency into one CommonJS file (dist/sea/cutover.cjs; a SEA runs one
//      CommonJS script and can require only Node's built-in modules);
//   2. Node turns it into a blob (dist/sea/cutover.blob);
//   3. postject injects the blob into a copy of this Node binary: dist/cutover (the executable).
// Step 3 needs postject, a pinned devDependency ("postject": "1.0.0-alpha.6"); without it the script stops after step 2
// with exit 3 and says so (`--bundle-only` stops after step 1 on purpose, exit 0).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist', 'sea');
const bundle = join(out, 'cutover.cjs');
const blob = join(out, 'cutover.blob');
const exe = join(root, 'dist', process.platform === 'win32' ? 'cutover.exe' : 'cutover');
/** The fuse Node's SEA loader looks for (documented in Node's single-executable-applications page). */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The lab's code finds its files from import.meta.url: in CommonJS, the bundle's own file (the lab needs a
  // checkout anyway; a jump host runs validate, plan, apply, resume, rollback, status, report).
  define: { 'import.meta.url': '__cutoverModuleUrl' },
  banner: { js: "const __cutoverModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
console.log(`bundled ${bundle}`);
if (process.argv.includes('--bundle-only')) process.exit(0);

writeFileSync(
  join(out, 'sea-config.json'),
  `${JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true }, null, 2)}\n`,
);
execFileSync(process.execPath, ['--experimental-sea-config', join(out, 'sea-config.json')], {
  stdio: 'inherit',
});

let postject;
try {
  postject = createRequire(join(root, 'package.json')).resolve('postject/package.json');
} catch {
  console.error(
    `build:exe: postject is not installed, so ${blob} was not injected into an executable.\n` +
      'Add it as a devDependency ("postject": "1.0.0-alpha.6" in package.json, then npm install) and run npm run build:exe again.',
  );
  process.exit(3);
}
rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
if (process.platform === 'darwin')
  execFileSync('codesign', ['--remove-signature', exe], { stdio: 'inherit' });
execFileSync(
  'npx',
  [
    '--no-install',
    'postject',
    exe,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    FUSE,
    ...(process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : []),
  ],
  { stdio: 'inherit', cwd: root },
);
if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', exe], { stdio: 'inherit' });
console.log(`built ${exe} (blob injected with ${postject}); try: ${exe} --version`);
if (!existsSync(exe)) process.exit(1);
