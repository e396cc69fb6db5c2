/** Host selection: which hosts of an inventory a phase (or a drain's neighbours) runs on, in run order. */
import { didYouMean, listNames } from '../source/suggest.js';
import type { Host, HostSelector, Inventory } from './model.js';

/**
 * The hosts a selector names, in run order: by role in the order the roles are listed (within a
 * role, inventory order), then hosts named explicitly, without duplicates; `{}` (YAML `all`) is
 * every host in inventory order. `where` is applied last through `evaluateWhere`.
 * Throws Error on an unknown role or host name.
 * Example: selectHosts(inv, { roles: ['backup', 'integration', 'web'] }) -> [backup, integration, web].
 */
export function selectHosts(
  inventory: Inventory,
  selector: HostSelector,
  evaluateWhere?: (expression: string, host: Host) => boolean,
): Host[] {
  const chosen: Host[] = [];
  const add = (host: Host) => {
    if (!chosen.includes(host)) chosen.push(host);
  };
  if (!selector.roles && !selector.hosts) inventory.hosts.forEach(add);
  const roles = [...new Set(inventory.hosts.flatMap((h) => h.roles))];
  for (const role of selector.roles ?? []) {
    const members = inventory.hosts.filter((h) => h.roles.includes(role));
    if (members.length === 0) {
      throw new Error(
        `no host of inventory ${inventory.file} has role "${role}".${didYouMean(role, roles)} Roles there: ${listNames(roles)}.`,
      );
    }
    members.forEach(add);
  }
  for (const name of selector.hosts ?? []) {
    const host = inventory.hosts.find((h) => h.name === name);
    if (!host) {
      const names = inventory.hosts.map((h) => h.name);
      throw new Error(
        `inventory ${inventory.file} has no host "${name}".${didYouMean(name, names)} Hosts there: ${listNames(names)}.`,
      );
    }
    add(host);
  }
  const where = selector.where;
  if (where === undefined) return chosen;
  if (!evaluateWhere)
    throw new Error(`cannot apply where: ${where} without an evaluator (a bug: pass evaluateWhere)`);
  return chosen.filter((host) => evaluateWhere(where, host));
}
