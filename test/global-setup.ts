import { execFileSync } from 'node:child_process';

/** End-to-end tests run the real CLI from dist/: build it once, so it is never stale. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
