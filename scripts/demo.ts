/**
 * `npm run demo`: the seed 000 upgrade in the lab, under user and integration traffic.
 * Installs the lab's Debian packages if missing, brings up a fresh Comindware lab, runs
 * `cutover apply` with live progress while the load generator runs, and prints the result.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { labDown, labUp } from '../lab/hosts.js';
import { formatLoadReport, startLoad } from '../lab/load.js';
import { CMW_VERSIONS, comindwareScenario } from '../lab/scenarios/comindware.js';
import { formatDuration } from '../src/shared/duration.js';

const root = resolve(import.meta.dirname, '..');
// The lab folder is the one examples/comindware/inventory.lab.yml names; CUTOVER_STATE_DIR moves
// the journal (the demo's own test uses it).
const labDir = join(root, '.lab', 'comindware');
const stateDir = process.env.CUTOVER_STATE_DIR ?? join(root, '.cutover');
const say = (text: string) => process.stdout.write(`\n== ${text}\n`);

if (process.getuid?.() !== 0) {
  process.stderr.write('npm run demo needs root: the lab runs sshd and nginx hosts in Linux namespaces.\n');
  process.exit(2);
}
say('lab prerequisites');
execFileSync('sh', [join(root, 'scripts', 'prerequisites.sh'), 'lab'], { stdio: 'inherit' });

say('a fresh Comindware lab: web, integration, backup on 127.0.10.10-12, version ' + CMW_VERSIONS.installed);
await labDown({ labDir, purge: true }).catch(() => undefined);
const lab = await labUp({ scenario: comindwareScenario, labDir, log: (l) => process.stdout.write(`${l}\n`) });
const distrUrl = String(lab.controller?.info.artifactServer);
const password = readFileSync(join(labDir, 'secrets', 'distr_password'), 'utf8').trim();
await untilServing();

say(
  `upgrade to ${CMW_VERSIONS.holdLock} under load (15 req/s to each of / and /async on web and on integration)`,
);
const traffic = startLoad({
  targets: ['web', 'integration'].flatMap((host) => {
    const address = lab.hosts.find((h) => h.name === host)?.address;
    return [
      { name: `${host} /`, url: `http://${address}/` },
      { name: `${host} /async`, url: `http://${address}/async` },
    ];
  }),
  ratePerSecond: 15,
  durationMs: 30 * 60_000,
});
const started = Date.now();
const code = await new Promise<number>((done) => {
  const child = spawn(
    process.execPath,
    [
      join(root, 'bin', 'cutover.js'),
      '--state-dir',
      stateDir,
      'apply',
      '-r',
      join(root, 'examples', 'comindware', 'runbook.yml'),
      '-i',
      join(root, 'examples', 'comindware', 'inventory.lab.yml'),
      '-p',
      `version=${CMW_VERSIONS.holdLock}`,
      '-p',
      `distr_url=${distrUrl}`,
      '--yes',
      // The demo has nobody at the keyboard: it approves the "check the node" gates itself.
      '--approve-gates',
    ],
    { stdio: 'inherit', env: { ...process.env, CMW_DISTR_PASSWORD: password } },
  );
  child.on('close', (c) => done(c ?? 1));
});
const took = Date.now() - started;
const report = await traffic.stop();

say('result');
for (const host of ['web', 'integration', 'backup']) {
  const address = lab.hosts.find((h) => h.name === host)?.address;
  const v = await fetch(`http://${address}:8080/api/version`)
    .then((r) => r.json() as Promise<{ version: string; state: string }>)
    .catch(() => ({ version: '?', state: 'down' }));
  process.stdout.write(`  ${host.padEnd(12)} ${v.version} (${v.state})\n`);
}
process.stdout.write(`${formatLoadReport(report)}\n`);
process.stdout.write(`  upgrade took ${formatDuration(took)}, cutover exit code ${code}\n`);
process.stdout.write(
  `\nThe lab stays up: try \`./bin/cutover.js --state-dir ${stateDir} runs\`, \`./bin/cutover.js --state-dir ${stateDir} status <run>\`, \`ssh -F ${labDir}/ssh_config web\`; stop it with \`./bin/cutover.js lab down --dir ${labDir}\`.\n`,
);
process.exit(code === 0 && report.total.failed === 0 ? 0 : 1);

async function untilServing(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await Promise.all(
      lab.hosts.map((h) =>
        fetch(`http://${h.address}:8080/api/version`)
          .then((r) => r.json() as Promise<{ state: string }>)
          .then((v) => v.state === 'running')
          .catch(() => false),
      ),
    );
    if (ok.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the lab platforms did not start within 60s');
    await new Promise((r) => setTimeout(r, 200));
  }
}
