/**
 * Ansible's inventory model, whichever syntax it came from (INI, YAML, group_vars/host_vars
 * files): groups with their hosts, children and vars, hosts with their vars. Every variable keeps
 * where it was set, so an error or warning about it names its file:line:col.
 */
import type { InputProblem } from '../../errors.js';
import type { Loc } from '../../source/loc.js';

/** One variable's value and where it was set. Example: `{ value: '10.0.0.10', loc: { file: 'hosts', line: 3, col: 5 } }`. */
export interface VarEntry {
  value: unknown;
  loc: Loc;
  /** The value was an ansible-vault ciphertext (`!vault`); `value` is then never used. */
  vault?: boolean;
}

/** Variables by name. */
export type Vars = Record<string, VarEntry>;

export interface AnsibleGroup {
  hosts: string[];
  vars: Vars;
  children: string[];
  /** Order of first appearance over every source. */
  order: number;
  loc: Loc;
}

export interface AnsibleHost {
  vars: Vars;
  loc: Loc;
}

/** Several sources merge into one of these, in `-i` order (as Ansible's InventoryManager does). */
export interface AnsibleInventory {
  groups: Map<string, AnsibleGroup>;
  /** Hosts in order of first appearance. */
  hosts: Map<string, AnsibleHost>;
}

/** Where problems of one parse go; `file` names them. */
export interface ParseContext {
  file: string;
  problems: InputProblem[];
}

export function emptyAnsible(): AnsibleInventory {
  return { groups: new Map(), hosts: new Map() };
}

/** The group `name`, created (declared at `loc`) when new. */
export function group(inv: AnsibleInventory, name: string, loc: Loc): AnsibleGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { hosts: [], vars: {}, children: [], order: inv.groups.size, loc };
    inv.groups.set(name, g);
  }
  return g;
}

/** Adds `host` to `groupName` with its vars (later assignments win, as in Ansible). */
export function addHost(inv: AnsibleInventory, groupName: string, host: string, vars: Vars, loc: Loc): void {
  const g = group(inv, groupName, loc);
  if (!g.hosts.includes(host)) g.hosts.push(host);
  let h = inv.hosts.get(host);
  if (!h) {
    h = { vars: {}, loc };
    inv.hosts.set(host, h);
  }
  Object.assign(h.vars, vars);
}

/** Merges `from` into `into` (a later `-i` source): groups and hosts combine, later vars win. */
export function mergeInto(into: AnsibleInventory, from: AnsibleInventory): void {
  for (const [name, g] of from.groups) {
    const target = group(into, name, g.loc);
    for (const h of g.hosts) if (!target.hosts.includes(h)) target.hosts.push(h);
    for (const c of g.children) if (!target.children.includes(c)) target.children.push(c);
    Object.assign(target.vars, g.vars);
  }
  for (const [name, h] of from.hosts) {
    const target = into.hosts.get(name);
    if (target) Object.assign(target.vars, h.vars);
    else into.hosts.set(name, { vars: { ...h.vars }, loc: h.loc });
  }
}

/** Pushes an error (or warning) at `loc`. */
export function report(
  ctx: { problems: InputProblem[] },
  loc: Loc,
  path: string,
  message: string,
  severity: 'error' | 'warning' = 'error',
): void {
  ctx.problems.push({ ...loc, path, message, severity });
}
