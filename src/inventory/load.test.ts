import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, InputError } from '../errors.js';
import { expandHostPattern, loadInventory, parseInventory } from './load.js';
import type { Host } from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-inventory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

const CUTOVER = `cluster: comindware-lab
defaults: { user: root, ssh_options: { IdentityFile: ./id_ed25519, UserKnownHostsFile: ./known_hosts } }
vars: { instance: cmw }
hosts:
  web: { address: 127.0.10.10, roles: [web] }
  integration: { address: 127.0.10.11, roles: [integration], vars: { weight: "2" } }
  backup: { address: 127.0.10.12, port: 2222, roles: [backup] }
`;

const INI = `# the same cluster, as an Ansible INI inventory
[web]
web ansible_host=127.0.10.10

[integration]
integration ansible_host=127.0.10.11 weight="2"   # a comment

[backup]
backup ansible_host=127.0.10.12 ansible_port=2222

[all:vars]
ansible_user=root
ansible_ssh_private_key_file=./id_ed25519
ansible_ssh_common_args='-o UserKnownHostsFile=./known_hosts'
instance=cmw
`;

const ANSIBLE_YAML = `all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: ./id_ed25519
    ansible_ssh_common_args: -o UserKnownHostsFile=./known_hosts
    instance: cmw
  children:
    web:
      hosts:
        web: { ansible_host: 127.0.10.10 }
    integration:
      hosts:
        integration: { ansible_host: 127.0.10.11, weight: "2" }
    backup:
      hosts:
        backup: { ansible_host: 127.0.10.12, ansible_port: 2222 }
`;

describe('loadInventory', () => {
  it("reads cutover's format: defaults, shared vars, ssh paths relative to the inventory's folder", async () => {
    const inventory = await loadInventory(write('lab.yml', CUTOVER));
    expect(inventory.file).toBe(join(dir, 'lab.yml'));
    expect(inventory.cluster).toBe('comindware-lab');
    expect(inventory.hosts).toEqual([
      {
        name: 'web',
        address: '127.0.10.10',
        user: 'root',
        roles: ['web'],
        vars: { instance: 'cmw' },
        sshOptions: { IdentityFile: join(dir, 'id_ed25519'), UserKnownHostsFile: join(dir, 'known_hosts') },
        transport: 'ssh',
        loc: { file: join(dir, 'lab.yml'), line: 5, col: 3 },
      },
      expect.objectContaining({ name: 'integration', vars: { instance: 'cmw', weight: '2' } }),
      expect.objectContaining({ name: 'backup', port: 2222 }),
    ]);
  });

  it('loads Ansible INI and YAML inventories to the same hosts as the equivalent cutover YAML', async () => {
    const cutover = await loadInventory(write('cutover.yml', CUTOVER));
    const ini = await loadInventory(write('hosts.ini', INI));
    const yaml = await loadInventory(write('hosts.yml', ANSIBLE_YAML));
    expect(parseInventory(INI, 'hosts.ini').format).toBe('ansible-ini');
    expect(parseInventory(ANSIBLE_YAML, 'hosts.yml').format).toBe('ansible-yaml');
    const withoutLoc = (hosts: Host[]) => hosts.map(({ loc: _loc, ...h }) => h);
    expect(withoutLoc(ini.hosts)).toEqual(withoutLoc(cutover.hosts));
    expect(withoutLoc(yaml.hosts)).toEqual(withoutLoc(cutover.hosts));
    expect(ini.cluster).toBe('hosts');
  });

  it('applies defaults: address = name, ssh transport; user and port left to ssh (~/.ssh/config); local when asked', async () => {
    const inventory = await loadInventory(
      write('min.yml', 'hosts:\n  db-1:\n  controller: { transport: local }\n'),
    );
    expect(inventory.cluster).toBe('min');
    expect(inventory.hosts).toEqual([
      {
        name: 'db-1',
        address: 'db-1',
        roles: [],
        vars: {},
        sshOptions: {},
        transport: 'ssh',
        loc: expect.objectContaining({ line: 2, col: 3 }),
      },
      {
        name: 'controller',
        address: 'controller',
        roles: [],
        vars: {},
        sshOptions: {},
        transport: 'local',
        loc: expect.objectContaining({ line: 3, col: 3 }),
      },
    ]);
  });

  it('reports every problem of a cutover inventory at its line:col', async () => {
    const file = write(
      'bad.yml',
      `cluster: lab
defaults: { usr: root }
hosts:
  web: { address: 10.0.0.10, port: 70000, roles: web }
  "bad host": { address: x }
  db: { adress: 10.0.0.11 }
`,
    );
    const error = await rejection(loadInventory(file));
    expect(error.problems.map(formatProblem)).toEqual([
      `${file}:2:13: defaults/usr: unknown key "usr". Did you mean "user"? Allowed here: "user", "port", "transport", "ssh_options", "become", "become_user".`,
      `${file}:4:36: hosts/web/port: expected a number at most 65535`,
      `${file}:4:50: hosts/web/roles: expected a list, got the text "web"`,
      `${file}:5:3: hosts/bad host: invalid name "bad host": expected a host name of letters, digits, ., _ and - (it appears in plan ids)`,
      `${file}:6:9: hosts/db/adress: unknown key "adress". Did you mean "address"? Allowed here: "address", "port", "user", "roles", "vars", "transport", "ssh_options", "become", "become_user".`,
    ]);
  });

  it('names a missing file', async () => {
    const error = await rejection(loadInventory(join(dir, 'missing.ini')));
    expect(error.message).toBe(`${join(dir, 'missing.ini')}:1:1: cannot read the inventory: no such file`);
  });
});

describe('Ansible INI', () => {
  const ECSC = `[ecsc]
ecsc-[1:2]

[ecmc]
ecmc-1 ansible_host=10.1.0.21 kill_signal=15
ecmc-2 ansible_host=10.1.0.22

[tomcat:children]
ecsc
ecmc

[tomcat:vars]
kill_signal=9
tomcat_home=/home/apache-tomcat-7.0.67

[ecsc:vars]
service=ecsc

[ecmc:vars]
service=ecmc

[all:vars]
service=unknown
`;

  it('gives hosts the roles of their groups and parent groups, with host > group > parent > all vars', () => {
    const { inventory, problems } = parseInventory(ECSC, join(dir, 'ecsc.ini'));
    expect(problems).toEqual([]);
    expect(inventory?.hosts.map((h) => [h.name, h.address, h.roles, h.vars])).toEqual([
      [
        'ecsc-1',
        'ecsc-1',
        ['ecsc', 'tomcat'],
        { service: 'ecsc', kill_signal: '9', tomcat_home: '/home/apache-tomcat-7.0.67' },
      ],
      [
        'ecsc-2',
        'ecsc-2',
        ['ecsc', 'tomcat'],
        { service: 'ecsc', kill_signal: '9', tomcat_home: '/home/apache-tomcat-7.0.67' },
      ],
      [
        'ecmc-1',
        '10.1.0.21',
        ['ecmc', 'tomcat'],
        { service: 'ecmc', kill_signal: 15, tomcat_home: '/home/apache-tomcat-7.0.67' },
      ],
      [
        'ecmc-2',
        '10.1.0.22',
        ['ecmc', 'tomcat'],
        { service: 'ecmc', kill_signal: '9', tomcat_home: '/home/apache-tomcat-7.0.67' },
      ],
    ]);
  });

  it('reports bad sections, bad assignments and unsupported connections at line:col', () => {
    const { problems } = parseInventory(
      '[web:hosts:x]\nweb\n[db]\ndb ansible_host=10.0.0.2 oops\nlocal ansible_connection=winrm\n[db:vars]\njust text\n',
      'bad.ini',
    );
    expect(problems.map(formatProblem)).toEqual([
      'bad.ini:1:1: invalid section [web:hosts:x]: expected [group], [group:vars] or [group:children] (no spaces)',
      'bad.ini:4:26: db/db: expected key=value after the host name, found "oops"',
      'bad.ini:5:7: ansible_connection: host local: ansible_connection=winrm is not supported: cutover connects with ssh or local',
      'bad.ini:7:1: db:vars: expected key=value, found "just text"',
    ]);
  });

  it('expands numeric and alphabetic host ranges', () => {
    expect(expandHostPattern('node[01:03]')).toEqual(['node01', 'node02', 'node03']);
    expect(expandHostPattern('db-[a:c]')).toEqual(['db-a', 'db-b', 'db-c']);
    expect(expandHostPattern('n[1:5:2]')).toEqual(['n1', 'n3', 'n5']);
    expect(expandHostPattern('plain')).toEqual(['plain']);
  });
});

describe('Ansible YAML', () => {
  it('reports unknown group keys with a suggestion', () => {
    const { problems } = parseInventory(
      'all:\n  children:\n    web:\n      host:\n        web1:\n',
      'inv.yml',
    );
    expect(problems.map(formatProblem)).toEqual([
      'inv.yml:4:7: all/children/web/host: unknown key "host" in group web. Did you mean "hosts"? Allowed: "hosts", "vars", "children".',
    ]);
    expect(parseInventory('all:\n  vars: { a: 1 }\n', 'inv.yml').problems.map(formatProblem)).toEqual([
      'inv.yml:1:1: the inventory has no hosts: add at least one',
    ]);
  });
});
