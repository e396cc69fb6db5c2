import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { labSourceDir } from '../../lab/layout.js';
import { clearFault, FAULT_KNOBS, listFaults, setFault } from '../../lab/faults.js';
import { type LabStatus, type LabUpResult, labDown, labStatus, labUp } from '../../lab/hosts.js';
import { formatLoadReport, type LoadTarget, labLoadTargets, startLoad } from '../../lab/load.js';
import { makeScenario, scenarioNames } from '../../lab/scenarios/index.js';
import { UsageError } from '../errors.js';
import { formatDuration, parseDuration } from '../shared/duration.js';

/** Where command output goes; tests pass their own. */
export type Write = (text: string) => void;

const LAB_ROOT = '.lab';

/**
 * The lab folder a command works on: `--dir`, else the only lab under ./.lab/.
 * Example: resolveLabDir(undefined) -> '/work/main/.lab/comindware' when that is the only lab.
 */
export function resolveLabDir(dir: string | undefined, cwd = process.cwd()): string {
  if (dir) return path.resolve(cwd, dir);
  const root = path.join(cwd, LAB_ROOT);
  const labs = existsSync(root)
    ? readdirSync(root).filter((name) => existsSync(path.join(root, name, 'lab.json')))
    : [];
  if (labs.length === 1) return path.join(root, labs[0]!);
  if (labs.length === 0) {
    throw new UsageError(
      `no lab under ${root}`,
      'Start one with `cutover lab up --scenario NAME`, or pass --dir DIR.',
    );
  }
  throw new UsageError(
    `several labs under ${root}: ${labs.join(', ')}`,
    `Say which with --dir, e.g. --dir ${path.join(LAB_ROOT, labs[0]!)}.`,
  );
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`${flag} ${value}: expected a whole number of at least 1`);
    return n;
  };
}

function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${value}: expected a positive number`);
    return n;
  };
}

function duration(flag: string) {
  return (value: string): number => {
    try {
      return parseDuration(value);
    } catch (e) {
      throw new UsageError(`${flag}: ${(e as Error).message}`);
    }
  };
}

function collectTarget(value: string, previous: LoadTarget[] = []): LoadTarget[] {
  const eq = value.indexOf('=');
  if (eq < 1) throw new UsageError(`--target ${value}: expected NAME=URL, e.g. user=http://127.0.10.10/`);
  return [...previous, { name: value.slice(0, eq), url: value.slice(eq + 1) }];
}

/** The message `lab up` prints: what runs and how to use it. Example: formatUp(result, 2100). */
export function formatUp(r: LabUpResult, elapsedMs: number): string {
  const booted = r.hosts.filter((h) => h.booted).length;
  const lines = [
    `lab ${r.scenario} is up in ${formatDuration(elapsedMs)} (${booted} host${booted === 1 ? '' : 's'} booted, ${r.hosts.length - booted} already up)`,
    ...r.hosts.map((h) => `  ${h.name.padEnd(16)} ${h.address.padEnd(15)} ${h.roles.join(',')}`),
  ];
  if (r.controller) {
    lines.push(`controller${r.controller.started ? '' : ' (already running)'}:`);
    for (const [k, v] of Object.entries(r.controller.info)) lines.push(`  ${k}: ${v}`);
  }
  lines.push(
    '',
    `inventory: ${r.inventory}`,
    `log in:    ssh -F ${r.sshConfig} ${r.hosts[0]?.name ?? 'HOST'}`,
    `plan:      ${planExample(r)}`,
    `status:    cutover lab status --dir ${r.labDir}`,
    `stop:      cutover lab down --dir ${r.labDir}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * A `cutover plan` line for the scenario's example runbook, if the repo has one: its required
 * params filled from the lab's inventory vars of the same name, else left as NAME=VALUE.
 * Example: planExample(r) -> 'cutover plan -r examples/comindware/runbook.yml -i .../inventory.yml -p version=VERSION -p distr_url=http://...'.
 */
export function planExample(r: Pick<LabUpResult, 'scenario' | 'inventory'>): string {
  const example = path.join(path.dirname(labSourceDir()), 'examples', r.scenario, 'runbook.yml');
  if (!existsSync(example)) return `cutover plan -r RUNBOOK.yml -i ${r.inventory}`;
  const read = (file: string) => {
    try {
      return (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const params = (read(example).params ?? {}) as Record<string, { required?: boolean }>;
  const vars = (read(r.inventory).vars ?? {}) as Record<string, unknown>;
  const flags = Object.entries(params)
    .filter(([, spec]) => spec?.required)
    .map(([name]) => {
      const value = vars[name];
      return `-p ${name}=${typeof value === 'string' || typeof value === 'number' ? value : name.toUpperCase()}`;
    });
  return ['cutover plan -r', path.relative(process.cwd(), example), '-i', r.inventory, ...flags].join(' ');
}

/** The `lab status` table. Example: formatStatus(status) -> 'lab comindware at ...\nHOST  ADDRESS  SSHD  UNITS\n...'. */
export function formatStatus(s: LabStatus): string {
  const rows = [
    ['HOST', 'ADDRESS', 'SSHD', 'UNITS'],
    ...s.hosts.map((h) => [
      h.name,
      h.address,
      h.running ? h.sshd : 'off',
      h.units ? h.units.join(', ') || '-' : h.unitsError ? `? (${h.unitsError})` : '-',
    ]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = [`lab ${s.scenario} at ${s.labDir}`];
  for (const r of rows)
    lines.push(
      `${r
        .slice(0, 3)
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')}  ${r[3]}`.trimEnd(),
    );
  if (s.controller) {
    lines.push(`controller: ${s.controller.running}/${s.controller.total} process(es) running`);
    for (const [k, v] of Object.entries(s.controller.info)) lines.push(`  ${k}: ${v}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `cutover lab up|status|down|fault|load`: the local multi-host lab (needs root).
 * Example: registerLabCommands(program); then `cutover lab up --scenario comindware`.
 */
export function registerLabCommands(program: Command, write: Write = (t) => process.stdout.write(t)): void {
  const lab = program
    .command('lab')
    .description(
      'a local cluster of real sshd hosts in Linux namespaces, with simulators of the seed applications (needs root)',
    );
  const json = (cmd: Command) => (cmd.optsWithGlobals() as { json?: boolean }).json === true;

  lab
    .command('up')
    .description('start the lab (idempotent: hosts already up are left alone) and write its inventory')
    .requiredOption('-s, --scenario <name>', `one of: ${scenarioNames.join(', ')}`)
    .option('-d, --dir <dir>', `lab folder (default ${LAB_ROOT}/<scenario>)`)
    .option('--hosts <n>', 'plain scenario: number of hosts (default 2)', positiveInt('--hosts'))
    .option('--first-address <addr>', "plain scenario: node1's address (default 127.0.10.10)")
    .option('--timeout <duration>', 'how long hosts may take to boot (default 60s)', duration('--timeout'))
    .option('--balancer', 'ecsc scenario: an HAProxy host `lb` in front of the node pairs (ports 8081-8084)')
    .option(
      '--sudo-login [nopasswd-hosts]',
      'hosts refuse root on port 22; log in as `deploy` with sudo, without a password on the comma-separated hosts named, with one (in <dir>/secrets/deploy_password) elsewhere',
    )
    .action(
      async (
        opts: {
          scenario: string;
          dir?: string;
          hosts?: number;
          firstAddress?: string;
          timeout?: number;
          sudoLogin?: string | boolean;
          balancer?: boolean;
        },
        cmd: Command,
      ) => {
        let scenario: ReturnType<typeof makeScenario>;
        try {
          scenario = makeScenario(
            opts.scenario,
            { hosts: opts.hosts, firstAddress: opts.firstAddress },
            { balancer: opts.balancer ?? false },
          );
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        const labDir = path.resolve(opts.dir ?? path.join(LAB_ROOT, scenario.name));
        const started = Date.now();
        const result = await labUp({
          scenario,
          labDir,
          ...(opts.timeout !== undefined ? { bootTimeoutMs: opts.timeout } : {}),
          ...(opts.sudoLogin !== undefined
            ? {
                sudoLogin: {
                  nopasswd:
                    typeof opts.sudoLogin === 'string'
                      ? opts.sudoLogin
                          .split(',')
                          .map((h) => h.trim())
                          .filter(Boolean)
                      : [],
                },
              }
            : {}),
          log: json(cmd) ? undefined : (line) => write(`${line}\n`),
        });
        write(json(cmd) ? `${JSON.stringify(result)}\n` : formatUp(result, Date.now() - started));
      },
    );

  lab
    .command('status')
    .description('hosts with address, sshd up/down and active units; controller services')
    .option('-d, --dir <dir>', `lab folder (default: the only lab under ${LAB_ROOT}/)`)
    .action(async (opts: { dir?: string }, cmd: Command) => {
      const status = await labStatus({ labDir: resolveLabDir(opts.dir) });
      write(json(cmd) ? `${JSON.stringify(status)}\n` : formatStatus(status));
    });

  lab
    .command('down')
    .description('stop every host and controller service; nothing of the lab keeps running or mounted')
    .option('-d, --dir <dir>', `lab folder (default: the only lab under ${LAB_ROOT}/)`)
    .option('--purge', "also delete the hosts' files and the shared folder (keys and known_hosts are kept)")
    .action(async (opts: { dir?: string; purge?: boolean }, cmd: Command) => {
      const result = await labDown({ labDir: resolveLabDir(opts.dir), purge: opts.purge === true });
      if (json(cmd)) {
        write(`${JSON.stringify(result)}\n`);
        return;
      }
      write(
        `lab at ${result.labDir} is down: ${result.hosts.length ? `stopped ${result.hosts.join(', ')}` : 'no host was running'}` +
          `${result.controllerProcesses ? `, ${result.controllerProcesses} controller process(es)` : ''}${result.purged ? '; host files purged' : ''}\n`,
      );
    });

  lab
    .command('fault')
    .description('set (or with --off clear) a fault knob of a host; without KNOB, list the knobs that are on')
    .argument('<host>', 'host name')
    .argument('[knob]', Object.keys(FAULT_KNOBS).join(', '))
    .argument('[value]', 'for slow-start: extra seconds')
    .option('--off', 'clear the knob')
    .option('-d, --dir <dir>', `lab folder (default: the only lab under ${LAB_ROOT}/)`)
    .addHelpText(
      'after',
      `\nKnobs (read by the simulators when they start):\n${Object.entries(FAULT_KNOBS)
        .map(([k, v]) => `  ${k.padEnd(18)} ${v.summary}`)
        .join('\n')}\n`,
    )
    .action(
      async (
        host: string,
        knob: string | undefined,
        value: string | undefined,
        opts: { off?: boolean; dir?: string },
        cmd: Command,
      ) => {
        const labDir = resolveLabDir(opts.dir);
        if (knob === undefined) {
          const on = await listFaults(labDir, host);
          if (json(cmd)) write(`${JSON.stringify(on)}\n`);
          else
            write(
              Object.keys(on).length
                ? `${Object.entries(on)
                    .map(([k, v]) => `${host}: ${k}${v ? ` ${v}` : ''}`)
                    .join('\n')}\n`
                : `${host}: no fault knob is on\n`,
            );
          return;
        }
        if (opts.off) {
          if (value !== undefined)
            throw new UsageError(`lab fault ${host} ${knob} --off takes no value (got "${value}")`);
          const was = await clearFault(labDir, host, knob);
          write(`${host}: ${knob} ${was ? 'cleared' : 'was not set'}\n`);
          return;
        }
        const file = await setFault(labDir, host, knob, value);
        const when = knob === 'ignore-term' ? 'when SIGTERM arrives' : 'when they next start';
        write(`${host}: ${knob}${value ? ` ${value}` : ''} set (${file}); the simulators read it ${when}\n`);
      },
    );

  lab
    .command('load')
    .description(
      "steady HTTP load on the lab's nginx (user `/`, integration `/async`); reports sent, failed and the longest gap",
    )
    .option('-d, --dir <dir>', `lab folder (default: the only lab under ${LAB_ROOT}/)`)
    .option('--duration <duration>', 'how long (default 30s)', duration('--duration'), 30_000)
    .option('--rate <n>', 'requests per second per target (default 20)', positiveNumber('--rate'), 20)
    .option(
      '--target <name=url>',
      'a target instead of the defaults from the inventory (repeatable)',
      collectTarget,
    )
    .action(
      async (opts: { dir?: string; duration: number; rate: number; target?: LoadTarget[] }, cmd: Command) => {
        const targets = opts.target ?? (await labLoadTargets(resolveLabDir(opts.dir)));
        const load = startLoad({ targets, ratePerSecond: opts.rate, durationMs: opts.duration });
        if (!json(cmd)) {
          write(
            `load: ${targets.map((t) => `${t.name} ${t.url}`).join(', ')} at ${opts.rate}/s each for ${formatDuration(opts.duration)} (Ctrl-C stops early)\n`,
          );
        }
        const progress = setInterval(() => {
          const s = load.snapshot();
          if (!json(cmd))
            write(`  ${formatDuration(s.durationMs)}: sent ${s.total.sent}, failed ${s.total.failed}\n`);
        }, 5000);
        const onSigint = () => void load.stop();
        process.once('SIGINT', onSigint);
        try {
          const report = await load.done;
          write(json(cmd) ? `${JSON.stringify(report)}\n` : `${formatLoadReport(report)}\n`);
        } finally {
          clearInterval(progress);
          process.off('SIGINT', onSigint);
        }
      },
    );
}
