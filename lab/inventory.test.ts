import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseInventory } from '../src/inventory/load.js';
import { renderInventory, renderKnownHosts, renderSshConfig } from './inventory.js';
import { labLayout } from './layout.js';
import { tempLabDir } from './test-support.js';

const layout = labLayout('/srv/lab x/comindware');
const hosts = [
  { name: 'web', address: '127.0.10.10', roles: ['web'], vars: { instance: 'cmw' } },
  { name: 'backup', address: '127.0.10.12', roles: ['backup'], vars: {} },
];

describe('lab inventory files', () => {
  it('writes the inventory of the lab contract', () => {
    const text = renderInventory('comindware', layout, hosts, { distr_user: 'cmw-devops' });
    expect(text.startsWith('# Inventory of the cutover lab "comindware"')).toBe(true);
    expect(parse(text)).toEqual({
      cluster: 'lab-comindware',
      defaults: {
        user: 'root',
        port: 22,
        ssh_options: {
          IdentityFile: '/srv/lab x/comindware/id_ed25519',
          UserKnownHostsFile: '/srv/lab x/comindware/known_hosts',
          StrictHostKeyChecking: 'yes',
          IdentitiesOnly: 'yes',
        },
      },
      vars: { distr_user: 'cmw-devops' },
      hosts: {
        web: { address: '127.0.10.10', roles: ['web'], vars: { instance: 'cmw' } },
        backup: { address: '127.0.10.12', roles: ['backup'], vars: {} },
      },
    });
  });

  it("is accepted by cutover's inventory loader", () => {
    const dir = tempLabDir('inventory');
    const file = path.join(dir, 'inventory.yml');
    const text = renderInventory('comindware', layout, hosts, {});
    writeFileSync(file, text);
    const { inventory, problems } = parseInventory(text, file);
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(inventory?.hosts.map((h) => [h.name, h.address, h.sshOptions.StrictHostKeyChecking])).toEqual([
      ['web', '127.0.10.10', 'yes'],
      ['backup', '127.0.10.12', 'yes'],
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes known_hosts by address and name, and an ssh_config with host key checking on', () => {
    expect(
      renderKnownHosts([
        { name: 'web', address: '127.0.10.10', publicKey: 'ssh-ed25519 AAAAkey root@web\n' },
      ]),
    ).toBe('127.0.10.10,web ssh-ed25519 AAAAkey\n');
    const config = renderSshConfig('comindware', layout, hosts);
    expect(config).toContain('Host web\n  HostName 127.0.10.10\n');
    expect(config).toContain('  IdentityFile "/srv/lab x/comindware/id_ed25519"\n');
    expect(config).toContain('  StrictHostKeyChecking yes\n');
    expect(config).not.toMatch(/StrictHostKeyChecking (no|accept-new)|UserKnownHostsFile \/dev\/null/);
  });
});
