import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { labDown } from '../../lab/hosts.js';
import { planExample, registerLabCommands, resolveLabDir } from './lab.js';

const labDir = mkdtempSync('/tmp/cutover-lab-cli-');

/** Runs `cutover <args>` through a small program with the lab commands; returns what they printed. */
async function cli(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command('cutover').option('--json').exitOverride();
  registerLabCommands(program, (text) => {
    output += text;
  });
  await program.parseAsync(['node', 'cutover', ...args]);
  return output;
}

afterAll(async () => {
  await labDown({ labDir }).catch(() => undefined);
  await fs.rm(labDir, { recursive: true, force: true });
});

describe('cutover lab (CLI)', () => {
  it('up prints the hosts and how to use the lab', async () => {
    const out = await cli(
      'lab',
      'up',
      '--scenario',
      'plain',
      '--hosts',
      '1',
      '--first-address',
      '127.0.22.10',
      '--dir',
      labDir,
    );
    expect(out).toContain('booting node1');
    expect(out).toMatch(/lab plain is up in .+ \(1 host booted, 0 already up\)/);
    expect(out).toMatch(/ {2}node1 +127\.0\.22\.10 +node/);
    expect(out).toContain(`inventory: ${labDir}/inventory.yml`);
    expect(out).toContain(`log in:    ssh -F ${labDir}/ssh_config node1`);
    expect(out).toContain(`-i ${labDir}/inventory.yml`);
    expect(out).toContain(`stop:      cutover lab down --dir ${labDir}`);
    const again = await cli(
      'lab',
      'up',
      '--scenario',
      'plain',
      '--hosts',
      '1',
      '--first-address',
      '127.0.22.10',
      '--dir',
      labDir,
    );
    expect(again).toMatch(/\(0 hosts booted, 1 already up\)/);
  });

  it('status lists host, address, sshd and units; --json gives the same as data', async () => {
    const out = await cli('lab', 'status', '--dir', labDir);
    expect(out).toBe(
      `lab plain at ${labDir}\nHOST   ADDRESS      SSHD  UNITS\nnode1  127.0.22.10  up    -\n`,
    );
    const json = JSON.parse(await cli('--json', 'lab', 'status', '--dir', labDir));
    expect(json.hosts).toEqual([
      { name: 'node1', address: '127.0.22.10', roles: ['node'], running: true, sshd: 'up', units: [] },
    ]);
  });

  it('fault sets, lists and clears knobs', async () => {
    expect(await cli('lab', 'fault', 'node1', 'slow-start', '3', '--dir', labDir)).toMatch(
      /^node1: slow-start 3 set \(/,
    );
    expect(await cli('lab', 'fault', 'node1', '--dir', labDir)).toBe('node1: slow-start 3\n');
    expect(await cli('lab', 'fault', 'node1', 'slow-start', '--off', '--dir', labDir)).toBe(
      'node1: slow-start cleared\n',
    );
    expect(await cli('lab', 'fault', 'node1', '--dir', labDir)).toBe('node1: no fault knob is on\n');
    await expect(cli('lab', 'fault', 'node1', 'melt', '--dir', labDir)).rejects.toThrow(
      /unknown fault knob "melt"/,
    );
  });

  it('load runs against given targets and prints the report', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const out = await cli('lab', 'load', '--target', `user=${url}`, '--duration', '300ms', '--rate', '10');
      expect(out).toContain(`load: user ${url} at 10/s each for 300ms`);
      expect(out).toMatch(/\nuser +http:\/\/127\.0\.0\.1:\d+\/ +[1-3] +[1-3] +0 /);
      expect(out).toMatch(/\ntotal +[1-3] +[1-3] +0 /);
    } finally {
      server.close();
    }
    await expect(cli('lab', 'load', '--dir', labDir, '--duration', '1s')).rejects.toThrow(
      /serves no HTTP traffic/,
    );
  });

  it('refuses unknown scenarios and options that do not apply', async () => {
    await expect(cli('lab', 'up', '--scenario', 'nope', '--dir', labDir)).rejects.toThrow(
      /unknown lab scenario "nope": expected one of comindware, ecsc, plain/,
    );
    await expect(
      cli('lab', 'up', '--scenario', 'comindware', '--hosts', '2', '--dir', labDir),
    ).rejects.toThrow(UsageError);
    await expect(cli('lab', 'up', '--scenario', 'plain', '--hosts', 'two', '--dir', labDir)).rejects.toThrow(
      /--hosts two: expected a whole number/,
    );
    await expect(cli('lab', 'load', '--dir', labDir, '--duration', 'soon')).rejects.toThrow(
      /--duration: invalid duration "soon"/,
    );
  });

  it('down stops the lab', async () => {
    expect(await cli('lab', 'down', '--dir', labDir)).toBe(`lab at ${labDir} is down: stopped node1\n`);
    expect(await cli('lab', 'down', '--dir', labDir)).toBe(`lab at ${labDir} is down: no host was running\n`);
    expect(await cli('lab', 'status', '--dir', labDir)).toContain('node1  127.0.22.10  off   -');
  });
});

describe('planExample', () => {
  it("fills the example runbook's required params from the lab's inventory vars", () => {
    const dir = mkdtempSync('/tmp/cutover-lab-plan-');
    const inventory = path.join(dir, 'inventory.yml');
    writeFileSync(
      inventory,
      'cluster: lab-comindware\nvars:\n  distr_url: http://127.0.10.1:8111/x\nhosts:\n  web: { address: 127.0.10.10 }\n',
    );
    const line = planExample({ scenario: 'comindware', inventory });
    expect(line).toMatch(/^cutover plan -r \S*examples\/comindware\/runbook\.yml -i \S+inventory\.yml/);
    expect(line).toContain('-p version=VERSION');
    expect(line).toContain('-p distr_url=http://127.0.10.1:8111/x');
    expect(planExample({ scenario: 'plain', inventory })).toBe(`cutover plan -r RUNBOOK.yml -i ${inventory}`);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('resolveLabDir', () => {
  it('takes --dir, else the only lab under ./.lab', () => {
    const cwd = mkdtempSync('/tmp/cutover-lab-cwd-');
    expect(resolveLabDir('x', cwd)).toBe(path.join(cwd, 'x'));
    expect(() => resolveLabDir(undefined, cwd)).toThrow(/no lab under .*\.lab/);
    mkdirSync(path.join(cwd, '.lab', 'comindware'), { recursive: true });
    writeFileSync(path.join(cwd, '.lab', 'comindware', 'lab.json'), '{}');
    expect(resolveLabDir(undefined, cwd)).toBe(path.join(cwd, '.lab', 'comindware'));
    mkdirSync(path.join(cwd, '.lab', 'ecsc'), { recursive: true });
    writeFileSync(path.join(cwd, '.lab', 'ecsc', 'lab.json'), '{}');
    expect(() => resolveLabDir(undefined, cwd)).toThrow(/several labs under .*: comindware, ecsc/);
    rmSync(cwd, { recursive: true, force: true });
  });
});
