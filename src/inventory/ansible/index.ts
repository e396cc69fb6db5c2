/**
 * Ansible inventories read by Ansible's rules: several sources merged in `-i` order, then each
 * host's variables combined with Ansible's precedence (lowest first):
 * 1. `all`'s vars from the inventory files
 * 2. the host's other groups' vars from the inventory files, parents before children
 *    (groups sorted by depth, then `ansible_group_priority`, then name)
 * 3. `group_vars/all` next to each source, in `-i` order
 * 4. `group_vars/<group>` next to each source (sources in `-i` order, groups sorted as in 2)
 * 5. the host's own vars from the inventory files (later sources win)
 * 6. `host_vars/<host>` next to each source, in `-i` order
 * A later layer replaces a variable as a whole (Ansible's default hash_behaviour=replace).
 */
import { dirname } from 'node:path';
import type { InputProblem } from '../../errors.js';
import type { Host } from '../model.js';
import { type Finding, hostFromAnsibleVars } from './host.js';
import type { AnsibleInventory, Vars } from './model.js';
import { readVarsFile, varsFilesOf } from './vars-files.js';

/** One `-i` source: a file, or a folder (whose own group_vars/host_vars apply). */
export interface AnsibleSourceRoot {
  path: string;
  isDir: boolean;
}

/** Group order of Ansible's sort_groups: depth (longest path from `all`), priority, name. */
function groupSorter(inv: AnsibleInventory, problems: InputProblem[]) {
  const parents = new Map<string, string[]>();
  for (const [name, g] of inv.groups)
    for (const child of g.children) parents.set(child, [...(parents.get(child) ?? []), name]);
  const memo = new Map<string, number>();
  const depth = (name: string, seen: string[] = []): number => {
    if (name === 'all') return 0;
    if (seen.includes(name)) {
      const loc = inv.groups.get(name)?.loc ?? { file: '?', line: 1, col: 1 };
      problems.push({
        ...loc,
        path: name,
        message: `group ${name} is its own ancestor: ${[...seen, name].join(' -> ')}; remove one children entry`,
        severity: 'error',
      });
      memo.set(name, 1);
      return 1;
    }
    const known = memo.get(name);
    if (known !== undefined) return known;
    const ps = (parents.get(name) ?? []).filter((p) => p !== 'all');
    const d = ps.length ? 1 + Math.max(...ps.map((p) => depth(p, [...seen, name]))) : 1;
    memo.set(name, d);
    return d;
  };
  const priority = (name: string) => {
    const v = Number(inv.groups.get(name)?.vars.ansible_group_priority?.value ?? 1);
    return Number.isFinite(v) ? v : 1;
  };
  const ancestors = (name: string, out: Set<string>) => {
    if (out.has(name)) return;
    out.add(name);
    for (const p of parents.get(name) ?? []) ancestors(p, out);
  };
  return {
    /** Every group the host is in, directly or through children, sorted as Ansible combines them. */
    groupsOf(host: string): string[] {
      const set = new Set<string>();
      for (const [g, def] of inv.groups) if (def.hosts.includes(host)) ancestors(g, set);
      set.delete('all');
      return [...set].sort(
        (a, b) => depth(a) - depth(b) || priority(a) - priority(b) || (a < b ? -1 : a > b ? 1 : 0),
      );
    },
  };
}

/** The group_vars/host_vars files found next to the sources: per entity, per source, in order. */
export interface VarsFiles {
  /** `group_vars/<name>` vars of each source, in `-i` order (empty when none). */
  groups: Map<string, Vars[]>;
  hosts: Map<string, Vars[]>;
  problems: InputProblem[];
}

/** No vars files (a single text parsed on its own). */
export const NO_VARS_FILES: VarsFiles = { groups: new Map(), hosts: new Map(), problems: [] };

/** Reads every group_vars/host_vars file that applies to the inventory's groups and hosts. */
export async function readVarsFiles(inv: AnsibleInventory, roots: AnsibleSourceRoot[]): Promise<VarsFiles> {
  const bases = roots.map((r) => (r.isDir ? r.path : dirname(r.path)));
  const memo = new Map();
  const out: VarsFiles = { groups: new Map(), hosts: new Map(), problems: [] };
  const seen = new Set<string>();
  const read = async (sub: 'group_vars' | 'host_vars', name: string): Promise<Vars[]> => {
    const perSource: Vars[] = [];
    for (const base of bases) {
      const vars: Vars = {};
      for (const file of await varsFilesOf(base, sub, name)) {
        const r = await readVarsFile(file, memo);
        if (!seen.has(file)) {
          seen.add(file);
          out.problems.push(...r.problems);
        }
        Object.assign(vars, r.vars);
      }
      perSource.push(vars);
    }
    return perSource;
  };
  for (const g of new Set(['all', ...inv.groups.keys()])) out.groups.set(g, await read('group_vars', g));
  for (const h of inv.hosts.keys()) out.hosts.set(h, await read('host_vars', h));
  return out;
}

/**
 * Hosts of a merged Ansible inventory with its vars files (see the precedence above). Problems
 * (errors and warnings, positioned at the variable) go to `problems`.
 */
export function ansibleHosts(inv: AnsibleInventory, files: VarsFiles, problems: InputProblem[]): Host[] {
  const sorter = groupSorter(inv, problems);
  problems.push(...files.problems);
  const sources = Math.max(0, ...[...files.groups.values()].map((v) => v.length));
  const findings: Finding[] = [];
  const hosts: Host[] = [];
  for (const [name, h] of inv.hosts) {
    const groups = sorter.groupsOf(name);
    const merged: Vars = { ...(inv.groups.get('all')?.vars ?? {}) };
    for (const g of groups) Object.assign(merged, inv.groups.get(g)?.vars);
    for (const v of files.groups.get('all') ?? []) Object.assign(merged, v);
    // Ansible combines group_vars per source, each source's groups in order.
    for (let s = 0; s < sources; s++) for (const g of groups) Object.assign(merged, files.groups.get(g)?.[s]);
    Object.assign(merged, h.vars);
    for (const v of files.hosts.get(name) ?? []) Object.assign(merged, v);
    const host = hostFromAnsibleVars(name, merged, h.loc, findings);
    if (!host) continue;
    host.roles = groups
      .filter((g) => g !== 'ungrouped')
      .sort((a, b) => (inv.groups.get(a)?.order ?? 0) - (inv.groups.get(b)?.order ?? 0));
    hosts.push(host);
  }
  problems.push(...summarise(findings));
  return hosts;
}

/** One problem per place and message kind: the hosts a group-level variable affects are listed together. */
function summarise(findings: Finding[]): InputProblem[] {
  const byKey = new Map<string, { f: Finding; hosts: string[] }>();
  for (const f of findings) {
    const generic = f.message.replace(` of ${f.host}`, '');
    const key = `${f.loc.file}:${f.loc.line}:${f.loc.col}:${f.severity}:${generic}`;
    const entry = byKey.get(key);
    if (entry) entry.hosts.push(f.host);
    else byKey.set(key, { f: { ...f, message: generic }, hosts: [f.host] });
  }
  return [...byKey.values()].map(({ f, hosts }) => {
    const who =
      hosts.length === 1
        ? `host ${hosts[0]}`
        : `hosts ${hosts.slice(0, 5).join(', ')}${hosts.length > 5 ? ` and ${hosts.length - 5} more` : ''}`;
    return { ...f.loc, path: f.variable, message: `${who}: ${f.message}`, severity: f.severity };
  });
}
