import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseInventory } from '../../src/inventory/load.js';
import { parseRunbook } from '../../src/runbook/load.js';
import {
  closeMastersScript,
  floorScript,
  iniInventory,
  logWaitPlaybook,
  logWaitRunbook,
  stepsPlaybook,
  stepsRunbook,
  WRITTEN_LINE,
  writerCommand,
} from './render.js';

const access = { key: '/srv/lab/id_ed25519', knownHosts: '/srv/lab/known_hosts' };
const hosts = [
  { name: 'node1', address: '127.0.60.10' },
  { name: 'node2', address: '127.0.60.11' },
];

describe('the inventory cutover and Ansible share', () => {
  it("is read by cutover's Ansible INI loader with the lab's key, known_hosts and strict host keys", () => {
    const { inventory, problems } = parseInventory(iniInventory(hosts, access), '/tmp/bench3.ini');
    expect(problems).toEqual([]);
    expect(inventory?.cluster).toBe('bench3');
    expect(inventory?.hosts.map((h) => [h.name, h.address, h.user, h.port])).toEqual([
      // No ansible_port: ssh decides (22 unless an ssh config says otherwise).
      ['node1', '127.0.60.10', 'root', undefined],
      ['node2', '127.0.60.11', 'root', undefined],
    ]);
    expect(inventory?.hosts[0]?.sshOptions).toEqual({
      IdentityFile: '/srv/lab/id_ed25519',
      UserKnownHostsFile: '/srv/lab/known_hosts',
      GlobalKnownHostsFile: '/dev/null',
      StrictHostKeyChecking: 'yes',
      IdentitiesOnly: 'yes',
    });
  });

  it('refuses lab paths that INI ssh args cannot carry', () => {
    expect(() => iniInventory(hosts, { ...access, key: '/my lab/key' })).toThrow(/lab folder without them/);
  });
});

describe('runbooks and their Ansible equivalents', () => {
  const inventory = parseInventory(iniInventory(hosts, access), '/tmp/bench.ini').inventory!;

  it('writes a steps runbook cutover accepts, and a playbook with the same tasks', () => {
    const { runbook, problems } = parseRunbook(stepsRunbook(20, 1), 'steps.yml', { inventory });
    expect(problems).toEqual([]);
    expect(runbook?.phases[0]?.steps.map((s) => s.id)).toEqual(
      Array.from({ length: 20 }, (_, i) => `s${i + 1}`),
    );
    const pooled = parseRunbook(stepsRunbook(1, 10, 'window'), 'window.yml', { inventory });
    expect(pooled.problems).toEqual([]);
    expect(pooled.runbook?.phases[0]?.rolling).toMatchObject({ window: 10 });
    const [play] = parse(stepsPlaybook(20, 1)) as {
      serial?: number;
      gather_facts: boolean;
      tasks: object[];
    }[];
    expect(play).toMatchObject({ serial: 1, gather_facts: false });
    expect(play?.tasks).toHaveLength(20);
    expect((parse(stepsPlaybook(3)) as { serial?: number }[])[0]?.serial).toBeUndefined();
  });

  it('writes a log-wait runbook cutover accepts: reset, then a trigger and a wait per line', () => {
    const text = logWaitRunbook('/var/log/bench/wait.log', [
      { id: 1, delayMs: 400 },
      { id: 2, delayMs: 650 },
    ]);
    const { runbook, problems } = parseRunbook(text, 'wait.yml', { inventory });
    expect(problems).toEqual([]);
    expect(runbook?.phases[0]?.steps.map((s) => `${s.id}:${s.kind}`)).toEqual([
      'reset:shell.run',
      'trigger-1:shell.run',
      'wait-1:wait.log',
      'trigger-2:shell.run',
      'wait-2:wait.log',
    ]);
    const [play] = parse(logWaitPlaybook('/var/log/bench/wait.log', [{ id: 1, delayMs: 1500 }])) as {
      tasks: Record<string, unknown>[];
    }[];
    expect(play?.tasks[2]).toEqual({
      name: 'wait-1',
      'ansible.builtin.wait_for': {
        path: '/var/log/bench/wait.log',
        search_regex: 'bench-1 READY (\\d+)',
        timeout: 30,
      },
    });
  });
});

describe('scripts that run for real', () => {
  it('the writer returns at once and appends its stamped line after the delay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-writer-'));
    const file = join(dir, "it's.log");
    try {
      const before = Date.now();
      execFileSync('sh', ['-c', writerCommand(file, 7, 50)]);
      const deadline = Date.now() + 10_000;
      while (!existsSync(file) || !readFileSync(file, 'utf8').includes('\n')) {
        if (Date.now() > deadline) throw new Error(`the writer did not write ${file} within 10 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const line = readFileSync(file, 'utf8').trimEnd();
      const m = WRITTEN_LINE.exec(line);
      expect(m?.[1]).toBe('7');
      const writtenMs = Number(BigInt(m?.[2] ?? '0') / 1_000_000n);
      expect(writtenMs).toBeGreaterThanOrEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the floor and close-masters scripts are valid shell', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
    try {
      for (const [name, text, shell] of [
        ['seq.sh', floorScript(hosts, access, 20, 'sequential'), 'bash'],
        ['par.sh', floorScript(hosts, access, 20, 'parallel'), 'bash'],
        ['close.sh', closeMastersScript(join(dir, 'cp')), 'sh'],
      ] as const) {
        writeFileSync(join(dir, name), text);
        const r = spawnSync(shell, ['-n', join(dir, name)], { encoding: 'utf8' });
        expect(r.stderr, name).toBe('');
        expect(r.status, name).toBe(0);
      }
      expect(floorScript(hosts, access, 20, 'parallel')).toContain('host 127.0.60.11 1 &\nwait\n');
      // Nothing to close: the script still succeeds.
      expect(spawnSync('sh', [join(dir, 'close.sh')]).status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
