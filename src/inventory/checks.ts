/**
 * Checks over the hosts of any inventory format, after loading.
 *
 * Two hosts with the same address and port are one machine under two names: a rolling upgrade
 * would take it down twice and count it twice in the drain budget. That is an error — unless
 * their ProxyJump/ProxyCommand differ, because then the same private address may well be two
 * machines behind two bastions: a warning. (Hosts whose port is left to the ssh config are
 * compared by what the inventory says; `cutover plan` compares what ssh resolves as well.)
 */
import type { InputProblem } from '../errors.js';
import type { Host } from './model.js';

function proxyOf(h: Host): string {
  const o = Object.fromEntries(Object.entries(h.sshOptions).map(([k, v]) => [k.toLowerCase(), v]));
  return `${o.proxyjump ?? ''}\u0000${o.proxycommand ?? ''}`;
}

/** Duplicate address:port checks (see the module comment). Example: checkHosts(inventory.hosts) -> []. */
export function checkHosts(hosts: readonly Host[]): InputProblem[] {
  const problems: InputProblem[] = [];
  const seen = new Map<string, Host[]>();
  for (const h of hosts) {
    if (h.transport === 'local') continue;
    const key = `${h.address.toLowerCase()}:${h.port ?? ''}`;
    const earlier = seen.get(key) ?? [];
    const where = h.loc ?? { file: '?', line: 1, col: 1 };
    const same = earlier.find((e) => proxyOf(e) === proxyOf(h));
    const target = `${h.address}${h.port !== undefined ? `:${h.port}` : ''}`;
    if (same) {
      problems.push({
        ...where,
        path: h.name,
        message: `hosts ${same.name} and ${h.name} both connect to ${target}: one machine under two names would be upgraded (and drained) twice. Keep one name and give it both roles`,
        severity: 'error',
      });
    } else if (earlier[0]) {
      problems.push({
        ...where,
        path: h.name,
        message: `hosts ${earlier[0].name} and ${h.name} both connect to ${target}, through different ProxyJump/ProxyCommand: fine if they are two machines behind two bastions; if they are one, keep one name`,
        severity: 'warning',
      });
    }
    seen.set(key, [...earlier, h]);
  }
  return problems;
}
