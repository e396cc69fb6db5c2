/**
 * Ansible's YAML inventory: groups at the top (`all:`, `web:`), each a map of `hosts`, `vars`
 * and `children`; host keys may be patterns (`web[01:03]`, `web1:2222`). `!vault` values are
 * marked, never read (see vault.ts).
 */
import { didYouMean, listNames } from '../../source/suggest.js';
import type { Path, YamlSource } from '../../source/yaml.js';
import {
  type AnsibleInventory,
  addHost,
  emptyAnsible,
  group,
  type ParseContext,
  report,
  type Vars,
} from './model.js';
import { expandPattern, MAX_HOSTS, splitPort } from './range.js';
import { vaultValues } from './vault.js';

export const GROUP_KEYS = ['hosts', 'vars', 'children'];

/** Ansible YAML has groups at the top (`all:`, `web:`), each a map of hosts/vars/children; cutover's has `hosts:`. */
export function looksLikeAnsible(map: Record<string, unknown>): boolean {
  if ('hosts' in map) return false;
  return Object.values(map).every(
    (v) =>
      v === null ||
      (typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.keys(v as object).every((k) => GROUP_KEYS.includes(k))),
  );
}

/** The vars of a YAML map at `path`, each with where it was set; `!vault` values marked. */
export function yamlVars(
  source: YamlSource,
  map: Record<string, unknown>,
  path: Path,
  vault: Set<string>,
): Vars {
  const out: Vars = {};
  for (const [key, value] of Object.entries(map)) {
    const keyPath = [...path, key];
    out[key] = {
      value,
      loc: source.loc(keyPath, 'key'),
      ...(vault.has(keyPath.join('\u0000')) ? { vault: true } : {}),
    };
  }
  return out;
}

export function parseAnsibleYaml(
  raw: Record<string, unknown>,
  source: YamlSource,
  ctx: ParseContext,
  hostBudget = MAX_HOSTS,
): AnsibleInventory {
  const inv = emptyAnsible();
  const vault = new Set(vaultValues(source).map((v) => v.path.join('\u0000')));
  let hostCount = 0;
  const problem = (path: Path, message: string, at: 'value' | 'key' = 'value') =>
    ctx.problems.push(source.problem(path, message, 'error', at));
  const visitGroup = (name: string, value: unknown, path: Path) => {
    const g = group(inv, name, source.loc(path, 'key'));
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problem(path, `expected group ${name} to be a map with hosts, vars and/or children`);
      return;
    }
    const map = value as Record<string, unknown>;
    for (const key of Object.keys(map)) {
      if (!GROUP_KEYS.includes(key))
        problem(
          [...path, key],
          `unknown key "${key}" in group ${name}.${didYouMean(key, GROUP_KEYS)} Allowed: ${listNames(GROUP_KEYS)}.`,
          'key',
        );
    }
    const asMap = (key: string): Record<string, unknown> => {
      const v = map[key];
      if (v === null || v === undefined) return {};
      if (typeof v !== 'object' || Array.isArray(v)) {
        problem([...path, key], `expected ${key} of group ${name} to be a map`);
        return {};
      }
      return v as Record<string, unknown>;
    };
    Object.assign(g.vars, yamlVars(source, asMap('vars'), [...path, 'vars'], vault));
    for (const [text, hostValue] of Object.entries(asMap('hosts'))) {
      const hostPath = [...path, 'hosts', text];
      if (hostValue !== null && (typeof hostValue !== 'object' || Array.isArray(hostValue))) {
        problem(hostPath, `expected the vars of host ${text} as a map (or nothing)`);
        continue;
      }
      const loc = source.loc(hostPath, 'key');
      const vars = yamlVars(source, (hostValue ?? {}) as Record<string, unknown>, hostPath, vault);
      const { pattern, port } = splitPort(text);
      if (port !== undefined) {
        const n = Number(port);
        if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
          problem(hostPath, `expected a port number (1-65535) after "${pattern}:", found "${port}"`, 'key');
          continue;
        }
        vars.ansible_port ??= { value: n, loc };
      }
      const expanded = expandPattern(pattern, hostBudget - hostCount);
      if ('error' in expanded) {
        report(
          ctx,
          { ...loc, col: loc.col + expanded.index },
          hostPath.join('/'),
          `${expanded.error}. Fix the host pattern`,
        );
        continue;
      }
      hostCount += expanded.hosts.length;
      for (const host of expanded.hosts) addHost(inv, name, host, vars, loc);
    }
    for (const [child, childValue] of Object.entries(asMap('children'))) {
      if (!g.children.includes(child)) g.children.push(child);
      visitGroup(child, childValue, [...path, 'children', child]);
    }
  };
  for (const [name, value] of Object.entries(raw)) visitGroup(name, value, [name]);
  return inv;
}
