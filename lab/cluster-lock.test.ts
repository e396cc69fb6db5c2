/**
 * The cluster lock lives on the hosts (issue 12, part 4), tested against real sshd hosts: two
 * operators with two state folders and two inventories that overlap on one host; a holder killed
 * with -9, then resumed; `cutover unlock`. Events are ordered by barriers (a file the run waits
 * for, a journaled event), never by durations.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cutover, journalEvents, liveEvents, runIdFrom } from '../test/cli.js';
import { labDown, labUp } from './hosts.js';
import { plainScenario } from './scenarios/plain.js';
import { eventually, sshPool, tempLabDir } from './test-support.js';

const labDir = tempLabDir('cluster-lock');
const ssh = sshPool(labDir);
const LOCK = '/var/tmp/cutover.lock';
const work = mkdtempSync(join(tmpdir(), 'cutover-lock-'));

/** A runbook whose first host waits for /tmp/release before it goes on: the test's barrier. */
const RUNBOOK = join(work, 'runbook.yml');
/**
 * Operator A: node2 and node3. Operator B: node1 and node2 (another cluster name, another folder).
 * Hosts are taken in address order, so B takes node1 before it meets A on node2.
 */
let inventoryA = '';
let inventoryB = '';

/** The lab inventory cut down to `hosts`, under another cluster name, as another team would have it. */
function inventory(name: string, hosts: string[], base: string): string {
  const doc = parse(base) as { cluster: string; hosts: Record<string, unknown> };
  doc.cluster = name;
  doc.hosts = Object.fromEntries(Object.entries(doc.hosts).filter(([h]) => hosts.includes(h)));
  const file = join(work, `${name}.yml`);
  writeFileSync(file, stringify(doc));
  return file;
}

// Each test has its own state folders, so "the newest run" of a folder is always this test's.
let stateA = '';
let stateB = '';
let round = 0;
beforeEach(() => {
  round += 1;
  stateA = join(work, `state-a-${round}`);
  stateB = join(work, `state-b-${round}`);
});
const apply = (state: string, inv: string, extra: { onSpawn?: (pid: number) => void } = {}) =>
  cutover(['--state-dir', state, 'apply', '-r', RUNBOOK, '-i', inv, '--yes'], extra);
const locked = async (host: string) => (await ssh.run(host, `test -d ${LOCK}`)).code === 0;

beforeAll(async () => {
  const up = await labUp({ scenario: plainScenario({ hosts: 3, firstAddress: '127.0.51.10' }), labDir });
  const base = await fs.readFile(up.inventory, 'utf8');
  inventoryA = inventory('team-a', ['node2', 'node3'], base);
  inventoryB = inventory('team-b', ['node1', 'node2'], base);
  writeFileSync(
    RUNBOOK,
    [
      'name: lock-check',
      'phases:',
      '  - name: work',
      '    hosts: all',
      '    steps:',
      '      - name: wait for the release',
      '        when: "host.name == \'node2\'"',
      '        timeout: 5m',
      '        wait.file: { path: /tmp/release, state: present }',
      '      - shell.run: { command: "true" }',
      '',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  await ssh.close();
  await labDown({ labDir });
  await fs.rm(labDir, { recursive: true, force: true });
});

describe('the cluster lock on the hosts', { timeout: 240_000 }, () => {
  it('two operators, two state folders, overlapping inventories: exactly one proceeds; the other exits 3 naming the holder and takes nothing', async () => {
    const first = apply(stateA, inventoryA);
    await eventually(
      () => liveEvents(stateA).find((e) => e.type === 'step.waiting'),
      60_000,
      'run A to wait on node2',
    );
    const second = await apply(stateB, inventoryB);
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/cluster is locked: node2 is held by another run since \S+ \(pid \d+\)/);
    expect(second.stderr).toMatch(/holder \S+@\S+, run \d{8}-\d{6}-[0-9a-f]{4}/);
    expect(second.stderr).toContain('cutover resume');
    // All or nothing: B had taken node1 (first by address) and gave it back; it never ran a step.
    expect(await locked('node1')).toBe(false);
    const bRun = runIdFrom(second.stdout);
    expect(journalEvents(stateB, bRun).some((e) => e.type === 'step.started')).toBe(false);

    await ssh.out('node2', 'touch /tmp/release');
    const done = await first;
    if (done.code !== 0) throw new Error(`A exited ${done.code}\n${done.stdout}\n${done.stderr}`);
    // Released on success: B now runs.
    for (const h of ['node1', 'node2', 'node3']) expect(await locked(h)).toBe(false);
    const again = await apply(stateB, inventoryB);
    expect(again.code).toBe(0);
    await ssh.out('node2', 'rm -f /tmp/release');
  });

  it('kill -9 of the holder: the lock stays (another run is refused), `resume` of that run takes it over and gives it back', async () => {
    let pid = 0;
    const first = apply(stateA, inventoryA, { onSpawn: (p) => (pid = p) });
    await eventually(
      () => liveEvents(stateA).find((e) => e.type === 'step.waiting'),
      60_000,
      'run A to wait on node2',
    );
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const killed = await first;
    const runId = runIdFrom(killed.stdout);
    expect(await locked('node2')).toBe(true);
    expect(await locked('node3')).toBe(true);

    const refused = await apply(stateB, inventoryB);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`run ${runId}`);
    expect(refused.stderr).toContain(`cutover resume ${runId}`);

    await ssh.out('node2', 'touch /tmp/release');
    const resumed = await cutover(['--state-dir', stateA, 'resume', runId]);
    if (resumed.code !== 0)
      throw new Error(`resume exited ${resumed.code}\n${resumed.stdout}\n${resumed.stderr}`);
    for (const h of ['node2', 'node3']) expect(await locked(h)).toBe(false);
    await ssh.out('node2', 'rm -f /tmp/release');
  });

  it('`cutover unlock -i` names the holder of each host and breaks the locks only with --force', async () => {
    let pid = 0;
    const first = apply(stateA, inventoryA, { onSpawn: (p) => (pid = p) });
    await eventually(
      () => liveEvents(stateA).find((e) => e.type === 'step.waiting'),
      60_000,
      'run A to wait',
    );
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const runId = runIdFrom((await first).stdout);

    const asked = await cutover(['--state-dir', stateB, 'unlock', '-i', inventoryB]);
    expect(asked.code).toBe(2);
    expect(asked.stdout).toMatch(
      new RegExp(`node2: locked by \\S+, run ${runId}, pid ${pid}, since \\S+, lease until \\S+`),
    );
    expect(await locked('node2')).toBe(true);

    const broken = await cutover(['--state-dir', stateB, 'unlock', '-i', inventoryB, '--force']);
    expect(broken.code).toBe(0);
    expect(broken.stdout).toContain('node2: lock broken');
    expect(await locked('node2')).toBe(false);
    // node3 (not in B's inventory) keeps A's lock until A's own unlock or resume.
    expect(await locked('node3')).toBe(true);
    const cleared = await cutover(['--state-dir', stateA, 'unlock', '-i', inventoryA, '--force']);
    expect(cleared.code).toBe(0);
    expect(await locked('node3')).toBe(false);
  });
});
