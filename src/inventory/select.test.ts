import { describe, expect, it } from 'vitest';
import { evaluate } from '../runbook/expr.js';
import type { Host, Inventory } from './model.js';
import { selectHosts } from './select.js';

function host(name: string, roles: string[], vars: Record<string, unknown> = {}): Host {
  return {
    name,
    address: `10.0.0.${name.length}`,
    port: 22,
    user: 'root',
    roles,
    vars,
    sshOptions: {},
    transport: 'ssh',
  };
}

const inventory: Inventory = {
  file: '/srv/inventory.yml',
  cluster: 'lab',
  hosts: [
    host('web', ['web']),
    host('integration', ['integration']),
    host('backup', ['backup', 'web']),
    host('web-2', ['web'], { service: 'ecsc' }),
  ],
};
const names = (hosts: Host[]) => hosts.map((h) => h.name);
const where = (expression: string, h: Host) =>
  Boolean(evaluate(expression, { params: {}, vars: {}, secrets: {}, host: h }));

describe('selectHosts', () => {
  it('orders by the listed roles, then inventory order within a role, without duplicates', () => {
    expect(names(selectHosts(inventory, { roles: ['backup', 'integration', 'web'] }))).toEqual([
      'backup',
      'integration',
      'web',
      'web-2',
    ]);
    expect(names(selectHosts(inventory, { roles: ['web', 'backup'] }))).toEqual(['web', 'backup', 'web-2']);
  });

  it('selects every host in inventory order for `all`, and named hosts in the given order after roles', () => {
    expect(names(selectHosts(inventory, {}))).toEqual(['web', 'integration', 'backup', 'web-2']);
    expect(names(selectHosts(inventory, { hosts: ['web-2', 'web'] }))).toEqual(['web-2', 'web']);
    expect(
      names(selectHosts(inventory, { roles: ['integration'], hosts: ['web-2', 'integration'] })),
    ).toEqual(['integration', 'web-2']);
  });

  it('filters with where through the evaluator', () => {
    expect(names(selectHosts(inventory, { roles: ['web'], where: "'service' in host.vars" }, where))).toEqual(
      ['web-2'],
    );
    expect(names(selectHosts(inventory, { where: "host.name != 'web'" }, where))).toEqual([
      'integration',
      'backup',
      'web-2',
    ]);
  });

  it('names unknown roles and hosts with a suggestion', () => {
    expect(() => selectHosts(inventory, { roles: ['integraton'] })).toThrow(
      'no host of inventory /srv/inventory.yml has role "integraton". Did you mean "integration"? Roles there: "web", "integration", "backup".',
    );
    expect(() => selectHosts(inventory, { hosts: ['wbe'] })).toThrow(
      'inventory /srv/inventory.yml has no host "wbe". Did you mean "web"?',
    );
  });
});
