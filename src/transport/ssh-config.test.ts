/**
 * The operator's ssh config, as is, against real sshd: a target host and a bastion (two sshd
 * fixtures on 127.0.0.1), an ssh_config with Host aliases, HostName, User, Port, IdentityFile, a
 * Match block and ProxyJump. Inventories here set no user and no port: ssh decides.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutover } from '../../test/cli.js';
import { formatProblem } from '../errors.js';
import { loadInventory } from '../inventory/load.js';
import type { Host } from '../inventory/model.js';
import { renderPlan } from '../plan/render.js';
import { describeConnection, resolveConnections } from './ssh-config.js';
import { SshTransport } from './ssh.js';
import { type SshdFixture, startSshd } from './testing/sshd-fixture.js';

let target: SshdFixture;
let bastion: SshdFixture;
const dir = mkdtempSync(join(tmpdir(), 'cutover-sshconfig-'));
const config = join(dir, 'ssh_config');

beforeAll(async () => {
  [target, bastion] = await Promise.all([startSshd(), startSshd()]);
  const common = (f: SshdFixture) =>
    `  HostName 127.0.0.1\n  Port ${f.port}\n  User root\n  IdentityFile ${f.clientKeyFile}\n`;
  writeFileSync(
    config,
    [
      'Host web',
      common(target),
      'Host bastion',
      common(bastion),
      'Host inner',
      common(target),
      '  ProxyJump bastion',
      'Host wrong-user',
      '  HostName 127.0.0.1',
      `  Port ${target.port}`,
      '  User cutover-no-such-user',
      `  IdentityFile ${target.clientKeyFile}`,
      'Match originalhost matched-*',
      common(target),
      'Host *',
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      `  UserKnownHostsFile ${target.knownHostsFile} ${bastion.knownHostsFile}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'hosts'), '[app]\nweb\ninner\nmatched-1\n[odd]\nwrong-user\n');
});
afterAll(async () => {
  await Promise.all([target?.stop(), bastion?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const address = (h: Host) => ({
  name: h.name,
  address: h.address,
  sshOptions: h.sshOptions,
  ...(h.port ? { port: h.port } : {}),
  ...(h.user ? { user: h.user } : {}),
});

describe('the ssh config decides what the inventory leaves unset', () => {
  it('resolves user, HostName and port from Host and Match blocks and names where each came from', async () => {
    const inventory = await loadInventory(join(dir, 'hosts'));
    expect(inventory.hosts.map((h) => [h.name, h.port, h.user])).toEqual([
      ['web', undefined, undefined],
      ['inner', undefined, undefined],
      ['matched-1', undefined, undefined],
      ['wrong-user', undefined, undefined],
    ]);
    const { connections, problems } = await resolveConnections(inventory.hosts, { configFile: config });
    // Three of them reach one sshd directly: after the ssh config, one machine under three names
    // (inner goes through the bastion, so it may be another machine).
    expect(problems.map((p) => [p.path, p.severity, p.message.split(':')[0]])).toEqual([
      ['matched-1', 'error', 'hosts web and matched-1 both reach 127.0.0.1'],
      ['wrong-user', 'error', 'hosts web and wrong-user both reach 127.0.0.1'],
    ]);
    const line = (name: string) => describeConnection(connections.get(name) as never);
    expect(line('web')).toBe(`root@127.0.0.1:${target.port} (hostname, port from ${config})`);
    expect(line('inner')).toBe(`root@127.0.0.1:${target.port} via bastion (hostname, port from ${config})`);
    expect(line('matched-1')).toBe(`root@127.0.0.1:${target.port} (hostname, port from ${config})`);
    expect(line('wrong-user')).toBe(
      `cutover-no-such-user@127.0.0.1:${target.port} (user, hostname, port from ${config})`,
    );
    expect(connections.get('web')?.identityFiles).toEqual([target.clientKeyFile]);
  });

  it('connects with the Port, User and IdentityFile of the ssh config (not -p 22 -l root)', async () => {
    const inventory = await loadInventory(join(dir, 'hosts'));
    const t = new SshTransport({ configFile: config });
    try {
      for (const name of ['web', 'matched-1']) {
        const s = await t.connect(address(inventory.hosts.find((h) => h.name === name) as Host));
        expect((await s.exec('id -un')).stdout).toBe('root\n');
      }
      // The user comes from the ssh config too: sshd sees cutover-no-such-user, not root.
      const err = await t
        .connect(address(inventory.hosts.find((h) => h.name === 'wrong-user') as Host))
        .catch((e: Error) => e);
      expect(String(err)).toContain('Permission denied');
      expect(target.log()).toContain('Invalid user cutover-no-such-user');
    } finally {
      await t.close();
    }
  });

  it('goes through the bastion with ProxyJump', async () => {
    const inventory = await loadInventory(join(dir, 'hosts'));
    const before = (bastion.log().match(/Accepted publickey/g) ?? []).length;
    const t = new SshTransport({ configFile: config });
    try {
      const s = await t.connect(address(inventory.hosts.find((h) => h.name === 'inner') as Host));
      expect((await s.exec('echo through')).stdout).toBe('through\n');
    } finally {
      await t.close();
    }
    expect((bastion.log().match(/Accepted publickey/g) ?? []).length).toBe(before + 1);
  });

  it('inventory values win over the ssh config (command line beats config, as in ssh)', async () => {
    const host: Host = {
      name: 'web',
      address: 'web',
      port: 2,
      user: 'deploy',
      roles: [],
      vars: {},
      sshOptions: {},
      transport: 'ssh',
    };
    const { connections } = await resolveConnections([host], { configFile: config });
    const c = connections.get('web');
    expect(c && describeConnection(c)).toBe(`deploy@127.0.0.1:2 (hostname from ${config})`);
    expect(c?.from).toEqual({ user: 'inventory', hostname: 'ssh config', port: 'inventory' });
  });
});

describe('hosts the ssh config cannot resolve', () => {
  it('names the host when its name resolves nowhere (an error for apply, a warning for plan)', async () => {
    const host: Host = {
      name: 'ghost',
      address: 'ghost.invalid',
      roles: [],
      vars: {},
      sshOptions: {},
      transport: 'ssh',
      loc: { file: 'inv.yml', line: 3, col: 3 },
    };
    const { problems } = await resolveConnections([host], { configFile: config });
    expect(problems.map(formatProblem)).toEqual([
      `inv.yml:3:3: ghost: ssh would connect host ghost to "ghost.invalid", which does not resolve (DNS, /etc/hosts) and has no HostName in ${config}: set the host's address in the inventory, or add a "Host ghost.invalid" block with HostName (or ProxyJump) to the ssh config`,
    ]);
    const warn = await resolveConnections([host], { configFile: config, unresolvable: 'warning' });
    expect(warn.problems[0]?.severity).toBe('warning');
  });

  it('points at the line of a broken ssh config', async () => {
    const broken = join(dir, 'broken_config');
    writeFileSync(broken, 'Host x\n  Bogus yes\n');
    const host: Host = { name: 'x', address: 'x', roles: [], vars: {}, sshOptions: {}, transport: 'ssh' };
    const { problems } = await resolveConnections([host], { configFile: broken });
    expect(problems.map(formatProblem)).toEqual([
      `${broken}:2:1: x: ssh cannot resolve host x (x) with ${broken}: Bad configuration option: bogus. Fix the ssh config, or the host's settings in the inventory`,
    ]);
  });
});

describe('cutover plan shows what ssh will use', () => {
  it('renders one line per host under hosts:', () => {
    const plan = {
      hash: 'abcdef0123456789',
      runbook: { name: 'rb' },
      inventory: { cluster: 'c' },
      params: {},
      hosts: [
        { name: 'web', address: 'web', roles: ['app'], vars: {}, sshOptions: {}, transport: 'ssh' },
        { name: 'me', address: 'me', roles: [], vars: {}, sshOptions: {}, transport: 'local' },
      ],
      preflight: [],
      phases: [],
    } as unknown as Parameters<typeof renderPlan>[0];
    const text = renderPlan(plan, {
      connections: new Map([['web', 'deploy@10.0.0.10:2222 (user, port from ~/.ssh/config)']]),
    });
    expect(text).toContain(
      'connections (what ssh will use):\n  web -> deploy@10.0.0.10:2222 (user, port from ~/.ssh/config)\n  me -> the controller itself (local)\n',
    );
  });

  it('`cutover plan --ssh-config` (and CUTOVER_SSH_CONFIG) prints it end to end, and a bad host exits 2 naming it', async () => {
    const inv = join(dir, 'plan-hosts');
    writeFileSync(inv, '[web]\nweb\n[integration]\ninner\n');
    const runbook = join(dir, 'runbook.yml');
    writeFileSync(
      runbook,
      'name: probe\nphases:\n  - name: up\n    hosts: { roles: [web, integration] }\n    steps:\n      - shell.run: { command: "uptime" }\n',
    );
    const args = ['plan', '-r', runbook, '-i', inv, '--no-undo'];
    const r = await cutover(['--ssh-config', config, ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`  web -> root@127.0.0.1:${target.port} (hostname, port from ${config})\n`);
    expect(r.stdout).toContain(
      `  inner -> root@127.0.0.1:${target.port} via bastion (hostname, port from ${config})\n`,
    );
    const env = await cutover(args, { env: { CUTOVER_SSH_CONFIG: config } });
    expect(env.stdout).toContain(`  web -> root@127.0.0.1:${target.port}`);
    const broken = join(dir, 'broken_config');
    writeFileSync(broken, 'Host x\n  Bogus yes\n');
    const bad = await cutover(['--ssh-config', broken, ...args]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${broken}:2:1: web: ssh cannot resolve host web (web)`);
  });
});
