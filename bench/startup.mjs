/**
 * Start-up of the commands operators call dozens of times a night, side by side with Node's own
 * start (`node -e 0`), in one run (issue 15, part 2). No lab and no SSH: `status` reads a run made
 * here with the local transport, `plan` compiles the comindware example against its real
 * inventory (ssh -G only, nothing connects).
 *
 * Usage: node bench/startup.mjs [--runs 15] [--no-build] [--before OTHER/dist/cli.js]
 *
 * `--before` adds the same commands run by another build of the CLI (e.g. an older commit's,
 * built in a checkout of its own), measured in the same rounds: before and after side by side.
 *
 * The commands run in turn, round after round (node, --version, status, plan, node, ...), so load
 * that comes and goes hits them alike; each ratio is the median of the per-round ratios to
 * `node -e 0` of the same round. Wall-clock times of whole processes (spawned and waited for).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    'no-build': { type: 'boolean', default: false },
    before: { type: 'string' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number from 1');
if (!values['no-build'])
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });

const cli = join(root, 'bin', 'cutover.js');
const work = mkdtempSync(join(tmpdir(), 'cutover-startup-'));
const state = join(work, 'state');
writeFileSync(
  join(work, 'inventory.yml'),
  'cluster: startup\nhosts:\n  one: { address: 127.0.0.1, transport: local }\n  two: { address: 127.0.0.1, transport: local }\n',
);
writeFileSync(
  join(work, 'runbook.yml'),
  [
    'name: startup',
    'phases:',
    '  - id: up',
    '    hosts: all',
    '    rolling: { serial: 1 }',
    '    steps:',
    ...['a', 'b', 'c'].flatMap((id) => [`      - id: ${id}`, '        shell.run: { command: "true" }']),
    '',
  ].join('\n'),
);
execFileSync(
  process.execPath,
  [
    cli,
    '--state-dir',
    state,
    'apply',
    '-r',
    join(work, 'runbook.yml'),
    '-i',
    join(work, 'inventory.yml'),
    '--yes',
    '--json',
  ],
  { stdio: 'ignore' },
);
const listed = execFileSync(process.execPath, [cli, '--state-dir', state, 'runs', '--json'], {
  encoding: 'utf8',
});
const run = JSON.parse(listed.trim().split('\n')[0]).run;

const example = join(root, 'examples', 'comindware');
const cliCommands = (bin, label) => [
  { name: `\`cutover --version\`${label}`, argv: [bin, '--version'], goal: 2 },
  { name: `\`cutover status RUN\`${label}`, argv: [bin, '--state-dir', state, 'status', run], goal: 2 },
  {
    name: `\`cutover plan\` (comindware example)${label}`,
    argv: [
      bin,
      'plan',
      '-r',
      join(example, 'runbook.yml'),
      '-i',
      join(example, 'inventory.real.yml'),
      '-p',
      'version=5.0.24120.0',
      '-p',
      'distr_url=http://artifacts.example/cmw',
    ],
    goal: 3,
  },
];
const commands = [
  { name: '`node -e 0` (the floor)', argv: ['-e', '0'] },
  ...cliCommands(cli, ''),
  ...(values.before ? cliCommands(resolve(values.before), ', before') : []),
];

function once(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

const loadBefore = loadavg();
for (const c of commands) once(c.argv); // warm-up: the file cache, not the measurement
const times = commands.map(() => []);
for (let i = 0; i < runs; i++) for (const [j, c] of commands.entries()) times[j].push(once(c.argv));
const loadAfter = loadavg();
rmSync(work, { recursive: true, force: true });

const lines = [
  `Node ${process.version}, ${runs} rounds; load average (1/5/15 min) before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}.`,
  '',
  '| command | median | min–max | × `node -e 0` (median of per-round ratios) | goal |',
  '| --- | --- | --- | --- | --- |',
];
commands.forEach((c, j) => {
  const t = times[j];
  const ratio = j === 0 ? '' : `${median(t.map((x, i) => x / times[0][i])).toFixed(2)}×`;
  lines.push(
    `| ${c.name} | ${ms(median(t))} | ${ms(Math.min(...t))}–${ms(Math.max(...t))} | ${ratio} | ${c.goal ? `≤ ${c.goal}×` : ''} |`,
  );
});
process.stdout.write(`${lines.join('\n')}\n`);
