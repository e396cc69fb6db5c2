import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, InputError } from '../../errors.js';
import { loadInventories, parseInventory } from '../load.js';

const root = mkdtempSync(join(tmpdir(), 'cutover-ansible-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Writes a tree of files ({ 'group_vars/all.yml': '...' }) into a fresh folder; returns it. */
function tree(files: Record<string, string>): string {
  const dir = join(root, `t${n++}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function failure(paths: string[]): Promise<string[]> {
  try {
    await loadInventories(paths);
  } catch (e) {
    if (e instanceof InputError) return e.problems.filter((p) => p.severity === 'error').map(formatProblem);
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('Ansible inventories: group_vars and host_vars next to the inventory', () => {
  it('reads group_vars/<g>.yml, group_vars/<g>/ (sorted), a file without extension and host_vars/<h>.yaml', async () => {
    const dir = tree({
      hosts: '[web]\nweb1\n[db]\ndb1\n',
      'group_vars/all/10-base.yml': 'site: base\nzone: a\n',
      'group_vars/all/20-over.yml': 'zone: b\n',
      'group_vars/web.yml': 'tier: front\n',
      'group_vars/db': 'tier: back\n',
      'host_vars/web1.yaml': 'ansible_host: 10.0.0.10\nansible_user: deploy\n',
    });
    const { inventory, warnings } = await loadInventories([join(dir, 'hosts')]);
    expect(warnings).toEqual([]);
    expect(inventory.hosts.map((h) => [h.name, h.address, h.user, h.vars])).toEqual([
      ['web1', '10.0.0.10', 'deploy', { site: 'base', zone: 'b', tier: 'front' }],
      ['db1', 'db1', undefined, { site: 'base', zone: 'b', tier: 'back' }],
    ]);
  });

  it("applies Ansible's precedence: all < parent < child (inventory file) < group_vars/all < group_vars/<g> < host line < host_vars", async () => {
    const dir = tree({
      'inv.ini': [
        '[app:children]',
        'web',
        '[web]',
        'web1 h=host-line',
        'web2',
        '[all:vars]',
        'a=ini-all',
        'b=ini-all',
        '[app:vars]',
        'b=ini-app',
        'c=ini-app',
        '[web:vars]',
        'c=ini-web',
        'd=ini-web',
        'e=ini-web',
        '',
      ].join('\n'),
      // Ansible: inventory group_vars/all beats the inventory file's group vars, even a child's.
      'group_vars/all.yml': 'd: gv-all\ng: gv-all\nh: gv-all\n',
      'group_vars/app.yml': 'e: gv-app\nf: gv-app\n',
      'group_vars/web.yml': 'f: gv-web\ng: gv-web\nh: gv-web\n',
      'host_vars/web2.yml': 'h: host-vars\n',
    });
    const { inventory } = await loadInventories([join(dir, 'inv.ini')]);
    const [web1, web2] = inventory.hosts;
    expect(web1?.vars).toEqual({
      a: 'ini-all',
      b: 'ini-app',
      c: 'ini-web',
      d: 'gv-all',
      e: 'gv-app',
      f: 'gv-web',
      g: 'gv-web',
      h: 'host-line',
    });
    expect(web2?.vars.h).toBe('host-vars');
    expect(web1?.roles).toEqual(['app', 'web']);
  });

  it('orders groups by depth (the longest path from all), then ansible_group_priority, then name', () => {
    const text = [
      '[a:children]',
      'b',
      '[b:children]',
      'c',
      '[c]',
      'h1',
      '[x:children]',
      'c',
      '[zz]',
      'h1',
      '[yy]',
      'h1',
      '[a:vars]',
      'v=a',
      '[x:vars]',
      'v=x',
      '[zz:vars]',
      'w=zz',
      'ansible_group_priority=0',
      '[yy:vars]',
      'w=yy',
      '',
    ].join('\n');
    const { inventory, problems } = parseInventory(text, 'prio.ini');
    expect(problems).toEqual([]);
    // Depth 1: zz (priority 0) first, then a, x, yy by name; then b (2), c (3: the longest path a -> b -> c).
    expect(inventory?.hosts[0]?.vars).toEqual({ v: 'x', w: 'yy' });
  });
});

describe('Ansible inventories: several -i and folders', () => {
  it('merges several -i in order: hosts and groups combine, later sources win, each source has its own group_vars', async () => {
    const a = tree({
      'hosts.ini': '[web]\nweb1 ansible_host=10.0.0.1 x=a\n',
      'group_vars/web.yml': 'y: from-a\nz: from-a\n',
    });
    const b = tree({
      'more.yml':
        'all:\n  children:\n    web:\n      hosts:\n        web1: { x: b }\n        web2: { ansible_host: 10.0.0.2 }\n',
      'group_vars/web.yml': 'z: from-b\n',
    });
    const { inventory } = await loadInventories([join(a, 'hosts.ini'), join(b, 'more.yml')]);
    expect(inventory.files).toEqual([join(a, 'hosts.ini'), join(b, 'more.yml')]);
    expect(inventory.cluster).toBe('hosts');
    expect(inventory.hosts.map((h) => [h.name, h.address, h.vars])).toEqual([
      ['web1', '10.0.0.1', { x: 'b', y: 'from-a', z: 'from-b' }],
      ['web2', '10.0.0.2', { y: 'from-a', z: 'from-b' }],
    ]);
  });

  it('reads a folder as Ansible does: every inventory file in it, sorted; .ini skipped with a warning; its own group_vars', async () => {
    const dir = tree({
      '01-hosts': '[web]\nweb1\n',
      '02-more.yml': 'all:\n  hosts:\n    db1:\n',
      'legacy.ini': '[old]\nold1\n',
      'README.md': '# notes\n',
      '.hidden': 'nope',
      'group_vars/all.yml': 'ansible_user: deploy\n',
    });
    const { inventory, warnings } = await loadInventories([dir]);
    expect(inventory.hosts.map((h) => [h.name, h.user])).toEqual([
      ['web1', 'deploy'],
      ['db1', 'deploy'],
    ]);
    expect(warnings.map(formatProblem)).toEqual([
      `${join(dir, 'legacy.ini')}:1:1: skipped, as Ansible skips .ini files in an inventory folder (INVENTORY_IGNORE_EXTS): rename it (e.g. without extension) or pass it with its own -i`,
    ]);
  });

  it('says what is wrong with an empty folder (never a raw EISDIR)', async () => {
    const dir = tree({ 'group_vars/all.yml': 'a: 1\n' });
    expect((await failure([dir]))[0]).toContain(`the folder ${dir} holds no inventory file`);
  });
});

describe('Ansible INI syntax', () => {
  it('reads host:port, inline ; and # comments, [group:children], [group:vars] and ranges', () => {
    const { inventory, problems } = parseInventory(
      [
        '; a comment line',
        '[web]   ; the front',
        'web[01:02]:2222 role=front ; inline',
        'app-[a:b] # inline too',
        '[db]',
        'db1:5432',
        '[all:children]  # comment',
        'web',
        '[web:vars]',
        'tier = front  ; why',
        '',
      ].join('\n'),
      'syntax.ini',
    );
    expect(problems).toEqual([]);
    expect(inventory?.hosts.map((h) => [h.name, h.port ?? null, h.vars])).toEqual([
      ['web01', 2222, { role: 'front', tier: 'front' }],
      ['web02', 2222, { role: 'front', tier: 'front' }],
      ['app-a', null, { tier: 'front' }],
      ['app-b', null, { tier: 'front' }],
      ['db1', 5432, {}],
    ]);
  });

  it('refuses huge, descending and malformed ranges at file:line:col without expanding them', () => {
    const started = Date.now();
    const { problems } = parseInventory(
      '[web]\nweb[1:3000000]\nweb[5:1]\nweb[01:100]\nok[1:2:0]\n',
      'ranges.ini',
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(problems.map(formatProblem)).toEqual([
      'ranges.ini:2:4: web/web[1:3000000]: [1:3000000] names 3,000,000 hosts; an inventory may hold at most 10,000 (MAX_HOSTS). Fix the host pattern',
      'ranges.ini:3:4: web/web[5:1]: [5:1] is descending: write it as [1:5]. Fix the host pattern',
      'ranges.ini:4:4: web/web[01:100]: [01:100]: a zero-padded range needs begin and end of the same width (e.g. [01:10]). Fix the host pattern',
      'ranges.ini:5:8: web/ok[1:2:0]: the step of [1:2:0] must be a whole number of at least 1. Fix the host pattern',
    ]);
  });

  it('refuses :vars and :children sections for groups the file never declares, as Ansible does', () => {
    const { problems } = parseInventory('[web]\nw1\n[ghost:vars]\na=1\n[web:children]\nphantom\n', 'x.ini');
    expect(problems.map(formatProblem)).toEqual([
      'x.ini:3:2: ghost:vars: section [ghost:vars] is for a group this file never declares: add a [ghost] or [ghost:children] section (Ansible refuses it too)',
      'x.ini:6:1: web:children: [web:children] names group phantom, which this file never declares: add a [phantom] section (Ansible refuses it too)',
    ]);
  });
});

describe('Ansible vault values', () => {
  const VAULT =
    '!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  62313365396662343061393464336163383764373764613633653634306231386433626436623361\n';

  it('refuses a vault value in a connection variable at its file:line:col, with the way out; never the ciphertext', async () => {
    const dir = tree({ hosts: '[web]\nweb1\n', 'group_vars/web.yml': `tier: x\nansible_user: ${VAULT}` });
    const errors = await failure([join(dir, 'hosts')]);
    expect(errors).toEqual([
      `${join(dir, 'group_vars/web.yml')}:2:1: ansible_user: host web1: ansible_user is encrypted with ansible-vault: cutover does not decrypt it. Set it in plain text for cutover, or declare it as a cutover secret (runbook \`secrets: { user: { env: USER } }\`, or from a file or a prompt) and use {{ secrets.user }}`,
    ]);
    expect(errors.join()).not.toContain('AES256');
  });

  it('leaves a vault value out of host.vars with a warning naming it; a vault-encrypted vars file is a warning too', async () => {
    const dir = tree({
      hosts: '[web]\nweb1\n',
      'group_vars/web/plain.yml': `db_password: ${VAULT}`,
      'group_vars/web/vault.yml': '$ANSIBLE_VAULT;1.1;AES256\n6231336539\n',
    });
    const { inventory, warnings } = await loadInventories([join(dir, 'hosts')]);
    expect(inventory.hosts[0]?.vars).toEqual({});
    expect(JSON.stringify(inventory)).not.toContain('ANSIBLE_VAULT');
    expect(warnings.map(formatProblem)).toEqual([
      `${join(dir, 'group_vars/web/plain.yml')}:1:1: db_password: host web1: db_password is encrypted with ansible-vault: cutover does not decrypt it and leaves it out of host.vars (never the ciphertext). If a step needs it, declare it as a cutover secret (runbook \`secrets: { db_password: { env: DB_PASSWORD } }\`, or from a file or a prompt) and use {{ secrets.db_password }}`,
      expect.stringMatching(
        /group_vars\/web\/vault\.yml:1:1: this vars file is encrypted with ansible-vault/,
      ),
    ]);
  });
});

describe('Ansible connection variables', () => {
  it('reads ansible_become* into Host.become; refuses other methods and plain-text passwords', async () => {
    const { inventory } = await loadInventories([
      tree({
        h: '[web]\nweb1 ansible_become=yes\nweb2 ansible_become=true ansible_become_user=postgres ansible_become_method=sudo\nweb3\n',
      }) + '/h',
    ]);
    expect(inventory.hosts.map((h) => h.become)).toEqual([
      { user: 'root', method: 'sudo' },
      { user: 'postgres', method: 'sudo' },
      undefined,
    ]);
    const dir = tree({
      h: '[web]\nweb1 ansible_become=yes ansible_become_method=su\nweb2 ansible_become=yes ansible_become_password=hunter2\n',
    });
    expect(await failure([join(dir, 'h')])).toEqual([
      `${join(dir, 'h')}:2:25: ansible_become_method: host web1: ansible_become_method=su is not supported: cutover escalates with sudo only; use sudo on this host`,
      `${join(dir, 'h')}:3:25: ansible_become_password: host web2: ansible_become_password is in the inventory: cutover never reads a sudo password from an inventory. Remove it and give the password to cutover with --ask-become-pass (a prompt), CUTOVER_BECOME_PASSWORD, or --become-password-file FILE`,
    ]);
  });

  it('warns about every connection variable it does not honour, naming the variable and the hosts; ignores the irrelevant ones', async () => {
    const dir = tree({
      h: [
        '[web]',
        'web1 ansible_become_user=postgres',
        'web2',
        '[web:vars]',
        'ansible_ssh_retries=3',
        'ansible_python_interpreter=/usr/bin/python3',
        'ansible_ssh_common_args=\'-o ProxyCommand="ssh -W %h:%p -q bastion" -v\'',
        'ansible_timeout=7',
        '',
      ].join('\n'),
    });
    const { inventory, warnings } = await loadInventories([join(dir, 'h')]);
    expect(inventory.hosts[0]?.sshOptions).toEqual({
      ProxyCommand: 'ssh -W %h:%p -q bastion',
      ConnectTimeout: '7',
    });
    expect(warnings.map(formatProblem)).toEqual([
      `${join(dir, 'h')}:2:6: ansible_become_user: host web1: ansible_become_user=postgres has no effect: ansible_become is not true for this host (Ansible plays often set become themselves); set ansible_become=true to run as postgres through sudo`,
      `${join(dir, 'h')}:5:1: ansible_ssh_retries: hosts web1, web2: ansible_ssh_retries is not honoured by cutover (see \`cutover docs\`, Ansible inventories)`,
      `${join(dir, 'h')}:7:1: ansible_ssh_common_args: hosts web1, web2: ansible_ssh_common_args: cutover does not honour "-v" (it reads -o Option=value, -J, -i, -A and -C there)`,
    ]);
  });

  it('refuses a user or address beginning with "-" and Jinja in connection variables', () => {
    const { problems } = parseInventory(
      '[web]\nweb1 ansible_host=-oProxyCommand=x\nweb2 ansible_user=-lroot\nweb3 ansible_host="{{ inventory_hostname }}.corp"\n',
      'dash.ini',
    );
    expect(problems.map(formatProblem)).toEqual([
      'dash.ini:2:6: ansible_host: host web1: ansible_host ("-oProxyCommand=x") begins with "-", which ssh would read as an option: write the host\'s address',
      'dash.ini:3:6: ansible_user: host web2: ansible_user ("-lroot") begins with "-", which ssh would read as an option: write the login name',
      'dash.ini:4:6: ansible_host: host web3: ansible_host is a Jinja template ({{ inventory_hostname }}.corp): cutover does not evaluate Jinja in connection variables; write the value itself',
    ]);
  });
});

describe('one machine under two names', () => {
  it('is an error for the same address and port; a warning when different bastions may make them two machines', () => {
    const { problems } = parseInventory(
      [
        '[web]',
        'web1 ansible_host=10.0.0.5',
        'web2 ansible_host=10.0.0.5',
        'db1 ansible_host=10.0.0.9 ansible_ssh_common_args="-J bastion-a"',
        'db2 ansible_host=10.0.0.9 ansible_ssh_common_args="-J bastion-b"',
        'other ansible_host=10.0.0.5 ansible_port=2200',
        '',
      ].join('\n'),
      'dup.ini',
    );
    expect(problems.map((p) => `${formatProblem(p)} (${p.severity})`)).toEqual([
      'dup.ini:3:1: web2: hosts web1 and web2 both connect to 10.0.0.5: one machine under two names would be upgraded (and drained) twice. Keep one name and give it both roles (error)',
      'dup.ini:5:1: db2: hosts db1 and db2 both connect to 10.0.0.9, through different ProxyJump/ProxyCommand: fine if they are two machines behind two bastions; if they are one, keep one name (warning)',
    ]);
  });

  it('cutover YAML refuses a user or address beginning with "-"', () => {
    const { problems } = parseInventory(
      'hosts:\n  web: { address: -oProxyCommand=x, user: -lroot }\n',
      'c.yml',
    );
    expect(problems.map(formatProblem)).toEqual([
      'c.yml:2:19: hosts/web/address: expected an IP address or DNS name; a value beginning with "-" would be read by ssh as an option',
      'c.yml:2:43: hosts/web/user: expected a login name; a value beginning with "-" would be read by ssh as an option',
    ]);
  });
});
