/**
 * Seed 004 behind a load balancer (issue 17): the ecsc lab with HAProxy (host `lb`) and nginx (host
 * `lb-nginx`) in front of the node pairs, user traffic through one of them to all four services. Each node is taken out of rotation at
 * the balancer before its upgrade and put back once HAProxy says UP: 0 failed requests, the four
 * services still upgraded in parallel. A node whose new version fails to start stays out of
 * rotation, its saga restores it, and it comes back in rotation: nothing fails either.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { clearFault, heldProcess, setFault } from '../../lab/faults.js';
import { labDown, labUp } from '../../lab/hosts.js';
import { type LoadReport, startLoad } from '../../lab/load.js';
import {
  ECSC_LB_PORTS,
  ECSC_NGINX_LB_CONFIG,
  ECSC_NGINX_LB_PORTS,
  ECSC_LB_SOCKET,
  ECSC_SERVICES,
  ECSC_VERSIONS,
  type EcscService,
  ecscBalancedScenario,
  ecscVersionPath,
} from '../../lab/scenarios/ecsc.js';
import { eventually, relocate, sshPool } from '../../lab/test-support.js';
import { cutover, journalEvents, runIdFrom } from '../../test/cli.js';

const RUNBOOK = resolve(import.meta.dirname, 'runbook.yml');
const scenario = relocate(ecscBalancedScenario, '127.0.53');
const NODES = scenario.hosts.filter((h) => !h.roles.some((r) => r.startsWith('lb')));
const BALANCERS = ['lb', 'lb-2'];
const LB = scenario.hosts.find((h) => h.name === 'lb')?.address as string;
const NGINX_LB = scenario.hosts.find((h) => h.name === 'lb-nginx')?.address as string;
const labDir = mkdtempSync(join(tmpdir(), 'cutover-e2e-ecsc-lb-'));
let ssh: ReturnType<typeof sshPool>;
let inventory = '';
let stateDir = '';

const versionOf = async (address: string, service: EcscService) => {
  try {
    return (await (await fetch(`http://${address}:8080${ecscVersionPath(service)}`)).text()).trim();
  } catch (e) {
    return `down (${(e as Error).message})`;
  }
};

/** `show stat` of a balancer (lb, or its peer lb-2): `backend/server` -> status (UP, MAINT, DRAIN, DOWN). */
async function balancerStatus(lb = 'lb'): Promise<Record<string, string>> {
  const csv = await ssh.out(lb, `echo 'show stat' | socat stdio unix-connect:${ECSC_LB_SOCKET}`);
  const out: Record<string, string> = {};
  for (const line of csv.split('\n')) {
    const f = line.split(',');
    if (f.length > 18 && !line.startsWith('#') && f[1] !== 'FRONTEND' && f[1] !== 'BACKEND')
      out[`${f[0]}/${f[1]}`] = f[17] as string;
  }
  return out;
}

/** Steady user traffic through a balancer (HAProxy by default) to every service. */
const load = (address = LB, ports: Record<EcscService, number> = ECSC_LB_PORTS) =>
  startLoad({
    targets: ECSC_SERVICES.map((s) => ({
      name: s,
      url: `http://${address}:${ports[s]}${ecscVersionPath(s)}`,
    })),
    ratePerSecond: 20,
    durationMs: 600_000,
  });

/** The same runbook with another balancer section: nginx (host lb-nginx), or commands against the HAProxy pair. */
function variant(provider: 'nginx' | 'commands'): string {
  const text = readFileSync(RUNBOOK, 'utf8');
  const haproxy =
    /hosts: \{ roles: \[lb\] \}\n(\s+)skip_when: (.*)\n\s+haproxy:\n\s+socket: .*\n\s+backend: (.*)\n/;
  expect(text).toMatch(haproxy);
  // The values go through variables, as cutover's scanner asks for data on a program's stdin.
  const vars = 'S={{ host.vars.service }}; H={{ host.name }}; ';
  const api = (state: string) =>
    `${vars}printf 'set server %s/%s state ${state}\\n' "$S" "$H" | socat stdio unix-connect:${ECSC_LB_SOCKET}`;
  const stat = (awk: string) =>
    `${vars}echo 'show stat' | socat stdio unix-connect:${ECSC_LB_SOCKET} | awk -F, -v s="$H" '${awk}'`;
  const file = join(labDir, `runbook.${provider}.yml`);
  writeFileSync(
    file,
    text.replace(haproxy, (_m, indent: string, skip: string, backend: string) =>
      provider === 'nginx'
        ? `hosts: { roles: [lb-nginx] }\n${indent}skip_when: ${skip}\n${indent}nginx:\n${indent}  config: ${ECSC_NGINX_LB_CONFIG}\n${indent}  upstream: ${backend}\n${indent}  server: "{{ host.name }}:8080"\n`
        : [
            'hosts: { roles: [lb] }',
            `${indent}skip_when: ${skip}`,
            `${indent}commands:`,
            `${indent}  drain: ${JSON.stringify(api('maint'))}`,
            `${indent}  drained: ${JSON.stringify(stat('$2 == s && $5 != 0 { busy = 1 } END { exit busy }'))}`,
            `${indent}  undrain: ${JSON.stringify(api('ready'))}`,
            `${indent}  ready: ${JSON.stringify(stat('$2 == s && $18 !~ /^UP/ { down = 1 } END { exit down }'))}`,
            '',
          ].join('\n'),
    ),
  );
  return file;
}

/** Every node serves the old or the new version of its service. */
async function expectEveryNodeServes(which: 'old' | 'new'): Promise<void> {
  for (const node of NODES) {
    const service = node.vars.service as EcscService;
    expect(await versionOf(node.address, service)).toMatch(
      new RegExp(`^${service} ${ECSC_VERSIONS[service][which].version.replaceAll('.', '\\.')}`),
    );
  }
}

/** Every server is UP again on both HAProxy balancers. */
async function expectAllUp(): Promise<void> {
  for (const lb of BALANCERS)
    expect(
      Object.values(await balancerStatus(lb)).every((s) => s.startsWith('UP')),
      lb,
    ).toBe(true);
}

/** Every service got traffic through the balancer and none of it failed. */
function expectNoFailures(report: LoadReport): void {
  for (const t of report.targets) expect(t.sent, t.name).toBeGreaterThan(20);
  expect(report.targets.flatMap((t) => t.failures)).toEqual([]);
  expect(report.total.failed).toBe(0);
}

const apply = (runbook = RUNBOOK) =>
  cutover([
    '--state-dir',
    stateDir,
    'apply',
    '-r',
    runbook,
    '-i',
    inventory,
    '--yes',
    '-p',
    'behind_balancer=true',
  ]);

describe('seed 004 behind a balancer (HAProxy, nginx)', { timeout: 300_000 }, () => {
  beforeEach(async () => {
    await ssh?.close();
    await labDown({ labDir, purge: true }).catch(() => undefined);
    inventory = (await labUp({ scenario, labDir })).inventory;
    ssh = sshPool(labDir);
    stateDir = mkdtempSync(join(tmpdir(), 'cutover-e2e-state-'));
    await eventually(
      async () => {
        for (const lb of BALANCERS) {
          const status = await balancerStatus(lb).catch(() => ({}));
          if (Object.values(status).length !== 8 || !Object.values(status).every((s) => s.startsWith('UP')))
            return undefined;
        }
        return true;
      },
      60_000,
      'every node UP at both balancers',
    );
  }, 120_000);
  afterAll(async () => {
    await ssh?.close();
    await labDown({ labDir, purge: true });
  }, 60_000);

  it('upgrades every node, one per service at a time taken out of rotation at the balancer, and rolls back: 0 failed requests', async () => {
    const traffic = load();
    const run = await apply();
    const report = await traffic.stop();
    if (run.code !== 0) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    await expectEveryNodeServes('new');
    // Back in rotation everywhere, on both balancers of the pair, and nothing failed for the users.
    await expectAllUp();
    const maints = journalEvents(stateDir, runIdFrom(run.stdout)).filter(
      (e) =>
        e.type === 'step.command' && e.step === 'upgrade/drain@ecsc-1' && e.command.includes('state maint'),
    );
    expect(maints).toHaveLength(2);
    expectNoFailures(report);

    // Each node was out of rotation only around its own upgrade, and the services ran in parallel.
    const events = journalEvents(stateDir, runIdFrom(run.stdout));
    const drained = events.filter((e) => e.type === 'step.succeeded' && e.step.endsWith('/drain@ecsc-1'));
    expect(drained).toHaveLength(1);
    const firstNodes = ['ecsc-1', 'ecmc-1', 'schedule-1', 'schedule-res-1'];
    const starts = firstNodes.map((h) => events.findIndex((e) => e.type === 'host.started' && e.host === h));
    const firstDone = events.findIndex(
      (e) => e.type === 'host.finished' && firstNodes.includes((e as { host: string }).host),
    );
    for (const s of starts) expect(s).toBeLessThan(firstDone);

    // The rollback takes each node out of rotation again, as the upgrade did: still nothing fails.
    const traffic2 = load();
    const back = await cutover(['--state-dir', stateDir, 'rollback', runIdFrom(run.stdout), '--yes']);
    const report2 = await traffic2.stop();
    if (back.code !== 0) throw new Error(`rollback exit ${back.code}\n${back.stdout}\n${back.stderr}`);
    await expectEveryNodeServes('old');
    await expectAllUp();
    // ecsc-1 was taken out on both balancers in the upgrade, and again in the rollback.
    const maintsInAll = journalEvents(stateDir, runIdFrom(run.stdout)).filter(
      (e) =>
        e.type === 'step.command' && e.step === 'upgrade/drain@ecsc-1' && e.command.includes('state maint'),
    );
    expect(maintsInAll).toHaveLength(4);
    expectNoFailures(report2);
  });

  it('a node whose new version fails to start stays out of rotation, is restored by its saga and comes back in: nothing fails', async () => {
    // The knobs are read when a process starts: schedule-1's new version is held at its start while
    // both are set, then fails once released; the old version the saga restarts starts normally.
    await setFault(labDir, 'schedule-1', 'fail-start');
    await setFault(labDir, 'schedule-1', 'hold-start');
    const traffic = load();
    const running = apply();
    await eventually(() => heldProcess(labDir, 'schedule-1'), 120_000, "schedule-1's new version to be held");
    for (const lb of ['lb', 'lb-2'])
      expect((await balancerStatus(lb))['schedule/schedule-1'], lb).toMatch(/^MAINT/);
    await clearFault(labDir, 'schedule-1', 'fail-start');
    await clearFault(labDir, 'schedule-1', 'hold-start');
    const run = await running;
    const report = await traffic.stop();
    expect(run.code).toBe(1);
    const events = journalEvents(stateDir, runIdFrom(run.stdout));
    // Its traffic went back only after its undos: the drain's compensation is the last on schedule-1.
    const undone = events.filter((e) => e.type === 'compensation.succeeded' && e.host === 'schedule-1');
    expect(undone.at(-1)).toMatchObject({ step: 'upgrade/drain@schedule-1' });
    expect(
      await versionOf(NODES.find((n) => n.name === 'schedule-1')?.address as string, 'schedule'),
    ).toMatch(/^schedule 1\.6\.2/);
    for (const lb of ['lb', 'lb-2'])
      expect((await balancerStatus(lb))['schedule/schedule-1'], lb).toMatch(/^UP/);
    expectNoFailures(report);
  });
  it('with nginx as the balancer: each node marked down in its upstream, reloaded, restored byte-identical: 0 failed requests', async () => {
    const before = await ssh.out('lb-nginx', `cat ${ECSC_NGINX_LB_CONFIG}`);
    const traffic = load(NGINX_LB, ECSC_NGINX_LB_PORTS);
    const run = await apply(variant('nginx'));
    const report = await traffic.stop();
    if (run.code !== 0) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    await expectEveryNodeServes('new');
    expect(await ssh.out('lb-nginx', `cat ${ECSC_NGINX_LB_CONFIG}`)).toBe(before);
    const events = journalEvents(stateDir, runIdFrom(run.stdout));
    const marked = events.find(
      (e) =>
        e.type === 'step.output' &&
        e.step === 'upgrade/drain@ecmc-2' &&
        e.text.includes('+    server ecmc-2:8080 down;'),
    );
    expect(marked).toBeDefined();
    expectNoFailures(report);
  });
  it('refuses in preflight, before anything changes, a drain that would leave a backend without a server', async () => {
    // An operator took ecsc-2 out on lb-2 by hand: draining ecsc-1 there would leave ecsc empty.
    await ssh.out(
      'lb-2',
      `echo 'set server ecsc/ecsc-2 state maint' | socat stdio unix-connect:${ECSC_LB_SOCKET}`,
    );
    const run = await apply();
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(
      /ecsc-1.*no other server of backend ecsc is UP on this balancer: taking ecsc-1 out would leave the backend without a server/,
    );
    expect(journalEvents(stateDir, runIdFrom(run.stdout)).some((e) => e.type === 'host.started')).toBe(false);
    expect((await balancerStatus('lb'))['ecsc/ecsc-1']).toMatch(/^UP/);
    expect((await balancerStatus('lb-2'))['ecsc/ecsc-1']).toMatch(/^UP/);
  });
  it("with the operator's own commands (here HAProxy's API through socat) on the pair: 0 failed requests", async () => {
    const traffic = load();
    const run = await apply(variant('commands'));
    const report = await traffic.stop();
    if (run.code !== 0) throw new Error(`exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    await expectAllUp();
    const drains = journalEvents(stateDir, runIdFrom(run.stdout)).filter(
      (e) =>
        e.type === 'step.command' &&
        e.step === 'upgrade/drain@schedule-2' &&
        e.command.includes('state maint'),
    );
    expect(drains).toHaveLength(2);
    expectNoFailures(report);
  });
});
