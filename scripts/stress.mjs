// `npm run test:stress`: the whole suite (`npm test`) several times in a row while every core is
// kept busy by a CPU hog (`yes >/dev/null`, one per core), to prove that no test depends on a quiet
// machine. Prints each run's wall time and outcome; exits 1 if any run failed.
// Usage: npm run test:stress -- [--runs 3] [--hogs N (default: one per core)]
import { spawn } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, hogs: { type: 'string' } },
});
const runs = Number(values.runs);
const hogCount = values.hogs === undefined ? os.availableParallelism() : Number(values.hogs);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(hogCount) || hogCount < 0) {
  process.stderr.write('test:stress: --runs must be a whole number from 1 and --hogs from 0\n');
  process.exit(2);
}

const hogs = Array.from({ length: hogCount }, () =>
  spawn('yes', [], { stdio: ['ignore', 'ignore', 'inherit'] }),
);
const stopHogs = () => {
  for (const hog of hogs) hog.kill('SIGKILL');
};
process.on('exit', stopHogs);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopHogs();
    process.exit(130);
  });
}

const results = [];
for (let i = 1; i <= runs; i++) {
  const started = Date.now();
  process.stderr.write(
    `\ntest:stress: run ${i} of ${runs}, with ${hogCount} CPU hog(s) (load ${loadLine()})\n`,
  );
  const code = await new Promise((resolve) => {
    spawn('npm', ['test'], { stdio: 'inherit' }).on('exit', (c, signal) => resolve(c ?? signal));
  });
  results.push({ run: i, seconds: (Date.now() - started) / 1000, code, load: loadLine() });
}
stopHogs();

process.stdout.write(
  `\ntest:stress: ${runs} run(s) of npm test with ${hogCount} CPU hog(s) on ${os.availableParallelism()} core(s)\n`,
);
for (const r of results) {
  const m = Math.floor(r.seconds / 60);
  const s = Math.round(r.seconds - m * 60);
  process.stdout.write(
    `  run ${r.run}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${m} min ${s} s (load at the end ${r.load})\n`,
  );
}
process.exit(results.every((r) => r.code === 0) ? 0 : 1);

function loadLine() {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
