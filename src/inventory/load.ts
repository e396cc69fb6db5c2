/**
 * Loads an inventory: cutover's YAML format, or an Ansible inventory (INI or YAML) that users
 * already have, detected by content. Problems are positioned like the runbook's
 * (`file:line:col: path: message`) and thrown together as one InputError.
 */
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { type InputProblem, InputError } from '../errors.js';
import type { Loc } from '../source/loc.js';
import { readInputFile } from '../source/read.js';
import { didYouMean, listNames } from '../source/suggest.js';
import { type Path, YamlSource } from '../source/yaml.js';
import type { Host, Inventory } from './model.js';
import { HOST_NAME_PATTERN, inventorySchema } from './schema.js';

/** The inventory formats cutover reads. Example: `'ansible-ini'` for a file with `[web]` sections. */
export type InventoryFormat = 'cutover' | 'ansible-yaml' | 'ansible-ini';

/**
 * Reads an inventory file in any supported format. Throws InputError listing every problem.
 * Example: `const inventory = await loadInventory('examples/comindware/inventory.lab.yml')`.
 */
export async function loadInventory(file: string): Promise<Inventory> {
  const text = await readInputFile(file, 'inventory');
  const { inventory, problems } = parseInventory(text, file);
  if (!inventory || problems.some((p) => p.severity === 'error')) {
    throw new InputError(
      problems,
      'Fix the inventory and run `cutover validate` again; nothing was changed on any host.',
    );
  }
  return inventory;
}

/**
 * Parses inventory text without throwing; `file` names it in problems and anchors relative
 * ssh paths. Example: parseInventory('[web]\nweb ansible_host=10.0.0.10\n', 'hosts.ini').inventory.hosts[0].roles -> ['web'].
 */
export function parseInventory(
  text: string,
  file: string,
): { inventory?: Inventory; problems: InputProblem[]; format: InventoryFormat } {
  const context: Context = { file, dir: dirname(resolve(file)), problems: [] };
  const cluster = basename(file, extname(file));
  if (/^\[[^\]\n]+\]\s*(?:[#;].*)?$/m.test(text))
    return finish(fromAnsible(parseIni(text, context), context), context, cluster, 'ansible-ini');
  const source = new YamlSource(file, text);
  context.problems.push(...source.parseProblems);
  const raw = source.value();
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    if (typeof raw === 'string' && /=/.test(text))
      return finish(fromAnsible(parseIni(text, context), context), context, cluster, 'ansible-ini');
    context.problems.push(
      source.problem(
        [],
        'expected an inventory: a map with `hosts:` (cutover), `all:` (Ansible YAML), or an Ansible INI file with [groups]',
      ),
    );
    return { problems: context.problems, format: 'cutover' };
  }
  const map = raw as Record<string, unknown>;
  if (!looksLikeAnsible(map)) {
    const inventory = fromCutoverYaml(map, source, context);
    return {
      ...(inventory ? { inventory: { ...inventory, cluster: inventory.cluster || cluster } } : {}),
      problems: context.problems,
      format: 'cutover',
    };
  }
  return finish(
    fromAnsible(parseAnsibleYaml(map, source, context), context),
    context,
    cluster,
    'ansible-yaml',
  );
}

interface Context {
  file: string;
  /** The inventory's folder: relative ssh paths resolve against it. */
  dir: string;
  problems: InputProblem[];
}

function finish(hosts: Host[] | undefined, context: Context, cluster: string, format: InventoryFormat) {
  const inventory = hosts ? { file: resolve(context.file), cluster, hosts } : undefined;
  const problems = [...context.problems].sort((a, b) => a.line - b.line || a.col - b.col);
  return { ...(inventory ? { inventory } : {}), problems, format };
}

/** Ansible YAML has groups at the top (`all:`, `web:`), each a map of hosts/vars/children; cutover's has `hosts:`. */
function looksLikeAnsible(map: Record<string, unknown>): boolean {
  if ('hosts' in map) return false;
  return Object.values(map).every(
    (v) =>
      v === null ||
      (typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.keys(v as object).every((k) => GROUP_KEYS.includes(k))),
  );
}

const PATH_OPTIONS = new Set([
  'identityfile',
  'userknownhostsfile',
  'globalknownhostsfile',
  'certificatefile',
]);

/** Makes relative file paths in ssh options absolute against the inventory folder (`~` is left to ssh). */
function resolveSshPaths(options: Record<string, string>, dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    out[key] = PATH_OPTIONS.has(key.toLowerCase())
      ? value
          .split(/\s+/)
          .filter(Boolean)
          .map((p) => (isAbsolute(p) || p.startsWith('~') || p.includes('%') ? p : resolve(dir, p)))
          .join(' ')
      : value;
  }
  return out;
}

function fromCutoverYaml(
  raw: Record<string, unknown>,
  source: YamlSource,
  context: Context,
): Inventory | undefined {
  const result = inventorySchema.safeParse(raw);
  if (!result.success) {
    context.problems.push(...source.zodProblems(result.error.issues, [], raw, inventorySchema));
    return undefined;
  }
  const doc = result.data;
  const defaults = doc.defaults ?? {};
  const hosts: Host[] = Object.entries(doc.hosts).map(([name, host]) => ({
    name,
    address: host?.address ?? name,
    port: host?.port ?? defaults.port ?? 22,
    user: host?.user ?? defaults.user ?? 'root',
    roles: [...new Set(host?.roles ?? [])],
    vars: { ...doc.vars, ...(host?.vars ?? {}) },
    sshOptions: resolveSshPaths(
      { ...(defaults.ssh_options ?? {}), ...(host?.ssh_options ?? {}) },
      context.dir,
    ),
    transport: host?.transport ?? defaults.transport ?? 'ssh',
  }));
  return { file: resolve(context.file), cluster: doc.cluster ?? '', hosts };
}

/** Ansible's inventory model, whichever syntax it came from. */
interface AnsibleInventory {
  groups: Map<
    string,
    { hosts: string[]; vars: Record<string, unknown>; children: string[]; order: number; loc: Loc }
  >;
  hostVars: Map<string, Record<string, unknown>>;
  hostLocs: Map<string, Loc>;
  /** Hosts in order of first appearance. */
  hostOrder: string[];
}

function emptyAnsible(): AnsibleInventory {
  return { groups: new Map(), hostVars: new Map(), hostLocs: new Map(), hostOrder: [] };
}

function group(inv: AnsibleInventory, name: string, loc: Loc) {
  let g = inv.groups.get(name);
  if (!g) {
    g = { hosts: [], vars: {}, children: [], order: inv.groups.size, loc };
    inv.groups.set(name, g);
  }
  return g;
}

function addHost(
  inv: AnsibleInventory,
  groupName: string,
  host: string,
  vars: Record<string, unknown>,
  loc: Loc,
): void {
  const g = group(inv, groupName, loc);
  if (!g.hosts.includes(host)) g.hosts.push(host);
  if (!inv.hostVars.has(host)) {
    inv.hostOrder.push(host);
    inv.hostLocs.set(host, loc);
    inv.hostVars.set(host, {});
  }
  Object.assign(inv.hostVars.get(host) as Record<string, unknown>, vars);
}

/**
 * Expands Ansible host ranges: `web[01:03]` -> web01, web02, web03; `db-[a:c]` -> db-a, db-b, db-c.
 * Example: expandHostPattern('node[1:5:2]') -> ['node1', 'node3', 'node5'].
 */
export function expandHostPattern(pattern: string): string[] {
  const match = /\[([0-9]+|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::(\d+))?\]/.exec(pattern);
  if (!match) return [pattern];
  const [whole, from, to, step] = match as unknown as [string, string, string, string | undefined];
  const head = pattern.slice(0, match.index);
  const tail = pattern.slice(match.index + whole.length);
  const stride = Number(step ?? 1) || 1;
  const items: string[] = [];
  if (/^\d+$/.test(from) && /^\d+$/.test(to)) {
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    for (let n = Number(from); n <= Number(to); n += stride) items.push(String(n).padStart(width, '0'));
  } else {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c += stride) items.push(String.fromCharCode(c));
  }
  return items.flatMap((item) => expandHostPattern(`${head}${item}${tail}`));
}

/** Splits an INI host line into words with their columns, honouring quotes; `#` starts a comment. */
function splitWords(line: string): { text: string; col: number }[] {
  const words: { text: string; col: number }[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i] as string)) i++;
    if (i >= line.length || line[i] === '#') break;
    const start = i;
    let quote: string | undefined;
    for (; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (/\s/.test(c as string)) break;
    }
    words.push({ text: line.slice(start, i), col: start + 1 });
  }
  return words;
}

function unquote(text: string): string {
  const m = /^(['"])(.*)\1$/s.exec(text);
  return m ? (m[2] as string) : text;
}

/** Host-line values are Python literals in Ansible: numbers and booleans are typed, the rest is text. */
function hostLineValue(text: string): unknown {
  if (/^(['"]).*\1$/s.test(text)) return unquote(text);
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'True' || text === 'true') return true;
  if (text === 'False' || text === 'false') return false;
  return text;
}

function parseIni(text: string, context: Context): AnsibleInventory {
  const inv = emptyAnsible();
  const at = (line: number, col: number): Loc => ({ file: context.file, line, col });
  const problem = (line: number, col: number, path: string, message: string) =>
    context.problems.push({ ...at(line, col), path, message, severity: 'error' });
  let section: { group: string; kind: 'hosts' | 'vars' | 'children' } = { group: 'ungrouped', kind: 'hosts' };
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const lineNo = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    const indent = rawLine.length - rawLine.trimStart().length;
    const header = /^\[([^\]]*)\]\s*(?:[#;].*)?$/.exec(trimmed);
    if (header) {
      const [name, kind = 'hosts', ...extra] = (header[1] as string).split(':');
      if (
        !name ||
        !/^[A-Za-z0-9_.-]+$/.test(name) ||
        extra.length ||
        !['hosts', 'vars', 'children'].includes(kind)
      ) {
        problem(
          lineNo,
          indent + 1,
          '',
          `invalid section [${header[1]}]: expected [group], [group:vars] or [group:children]`,
        );
        section = { group: '', kind: 'hosts' };
        return;
      }
      section = { group: name, kind: kind as 'hosts' | 'vars' | 'children' };
      group(inv, name, at(lineNo, indent + 1));
      return;
    }
    if (!section.group) return; // inside an invalid section, already reported
    if (section.kind === 'vars') {
      const m = /^([^=\s]+)\s*=\s*(.*)$/.exec(trimmed);
      if (!m) {
        problem(lineNo, indent + 1, `${section.group}:vars`, `expected key=value, found "${trimmed}"`);
        return;
      }
      group(inv, section.group, at(lineNo, indent + 1)).vars[m[1] as string] = unquote(
        (m[2] as string).replace(/\s+[#;].*$/, '').trim(),
      );
      return;
    }
    const words = splitWords(rawLine);
    if (section.kind === 'children') {
      const child = words[0];
      if (!child) return;
      if (words.length > 1)
        problem(
          lineNo,
          (words[1] as { col: number }).col,
          `${section.group}:children`,
          'expected one child group name per line',
        );
      const g = group(inv, section.group, at(lineNo, child.col));
      if (!g.children.includes(child.text)) g.children.push(child.text);
      group(inv, child.text, at(lineNo, child.col));
      return;
    }
    const [pattern, ...assignments] = words as [
      { text: string; col: number },
      ...{ text: string; col: number }[],
    ];
    const vars: Record<string, unknown> = {};
    for (const word of assignments) {
      const eq = word.text.indexOf('=');
      if (eq <= 0) {
        problem(
          lineNo,
          word.col,
          `${section.group}/${pattern.text}`,
          `expected key=value after the host name, found "${word.text}"`,
        );
        continue;
      }
      vars[word.text.slice(0, eq)] = hostLineValue(word.text.slice(eq + 1));
    }
    for (const host of expandHostPattern(pattern.text))
      addHost(inv, section.group, host, vars, at(lineNo, pattern.col));
  });
  return inv;
}

const GROUP_KEYS = ['hosts', 'vars', 'children'];

function parseAnsibleYaml(
  raw: Record<string, unknown>,
  source: YamlSource,
  context: Context,
): AnsibleInventory {
  const inv = emptyAnsible();
  const problem = (path: Path, message: string, at: 'value' | 'key' = 'value') =>
    context.problems.push(source.problem(path, message, 'error', at));
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
    Object.assign(g.vars, asMap('vars'));
    for (const [pattern, hostValue] of Object.entries(asMap('hosts'))) {
      const hostPath = [...path, 'hosts', pattern];
      if (hostValue !== null && (typeof hostValue !== 'object' || Array.isArray(hostValue))) {
        problem(hostPath, `expected the vars of host ${pattern} as a map (or nothing)`);
        continue;
      }
      for (const host of expandHostPattern(pattern))
        addHost(inv, name, host, (hostValue ?? {}) as Record<string, unknown>, source.loc(hostPath, 'key'));
    }
    for (const [child, childValue] of Object.entries(asMap('children'))) {
      if (!g.children.includes(child)) g.children.push(child);
      visitGroup(child, childValue, [...path, 'children', child]);
    }
  };
  for (const [name, value] of Object.entries(raw)) visitGroup(name, value, [name]);
  return inv;
}

/** Ansible connection vars that become Host fields (the rest of `ansible_*` is dropped from vars). */
function fromAnsible(inv: AnsibleInventory, context: Context): Host[] | undefined {
  const parents = new Map<string, string[]>();
  for (const [name, g] of inv.groups)
    for (const child of g.children) parents.set(child, [...(parents.get(child) ?? []), name]);
  const depthMemo = new Map<string, number>();
  const depth = (name: string, seen: string[] = []): number => {
    if (name === 'all') return 0;
    if (seen.includes(name)) {
      const loc = inv.groups.get(name)?.loc ?? { file: context.file, line: 1, col: 1 };
      context.problems.push({
        ...loc,
        path: name,
        message: `group ${name} is its own ancestor: ${[...seen, name].join(' -> ')}; remove one children entry`,
        severity: 'error',
      });
      return 1;
    }
    const memo = depthMemo.get(name);
    if (memo !== undefined) return memo;
    const ps = (parents.get(name) ?? []).filter((p) => p !== 'all');
    const d = ps.length ? 1 + Math.min(...ps.map((p) => depth(p, [...seen, name]))) : 1;
    depthMemo.set(name, d);
    return d;
  };
  const ancestors = (name: string, out: Set<string>) => {
    if (out.has(name)) return;
    out.add(name);
    for (const p of parents.get(name) ?? []) ancestors(p, out);
  };
  const hosts: Host[] = [];
  for (const name of inv.hostOrder) {
    const loc = inv.hostLocs.get(name) as Loc;
    if (!HOST_NAME_PATTERN.test(name)) {
      context.problems.push({
        ...loc,
        path: name,
        message: `invalid host name "${name}": use letters, digits, ., _ and - (it appears in plan ids)`,
        severity: 'error',
      });
      continue;
    }
    const groups = new Set<string>();
    for (const [g, def] of inv.groups) if (def.hosts.includes(name)) ancestors(g, groups);
    const ordered = [...groups]
      .filter((g) => inv.groups.has(g))
      .sort(
        (a, b) => depth(a) - depth(b) || (inv.groups.get(a)?.order ?? 0) - (inv.groups.get(b)?.order ?? 0),
      );
    const merged: Record<string, unknown> = { ...(inv.groups.get('all')?.vars ?? {}) };
    for (const g of ordered) if (g !== 'all') Object.assign(merged, inv.groups.get(g)?.vars);
    Object.assign(merged, inv.hostVars.get(name));
    const host = hostFromAnsibleVars(name, merged, loc, context);
    if (!host) continue;
    host.roles = [...groups]
      .filter((g) => g !== 'all' && g !== 'ungrouped')
      .sort((a, b) => (inv.groups.get(a)?.order ?? 0) - (inv.groups.get(b)?.order ?? 0));
    hosts.push(host);
  }
  if (hosts.length === 0 && !context.problems.some((p) => p.severity === 'error')) {
    context.problems.push({
      file: context.file,
      line: 1,
      col: 1,
      path: '',
      message: 'the inventory has no hosts: add at least one',
      severity: 'error',
    });
  }
  return context.problems.some((p) => p.severity === 'error') ? undefined : hosts;
}

function hostFromAnsibleVars(
  name: string,
  vars: Record<string, unknown>,
  loc: Loc,
  context: Context,
): Host | undefined {
  const pick = (...keys: string[]) => {
    for (const key of keys) if (vars[key] !== undefined && vars[key] !== null) return String(vars[key]);
    return undefined;
  };
  const fail = (message: string) => {
    context.problems.push({ ...loc, path: name, message, severity: 'error' });
    return undefined;
  };
  const portText = pick('ansible_port', 'ansible_ssh_port');
  const port = portText === undefined ? 22 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return fail(`ansible_port of ${name} must be a port number (1-65535), got "${portText}"`);
  const sshOptions: Record<string, string> = {};
  const key = pick('ansible_ssh_private_key_file', 'ansible_private_key_file');
  if (key !== undefined) sshOptions.IdentityFile = key;
  for (const args of [pick('ansible_ssh_common_args'), pick('ansible_ssh_extra_args')]) {
    if (args === undefined) continue;
    const words = args.split(/\s+/).filter(Boolean);
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      const option = word === '-o' ? words[++i] : word.startsWith('-o') ? word.slice(2) : undefined;
      const m = option ? /^([A-Za-z]+)=(.*)$/.exec(unquote(option)) : null;
      if (m) sshOptions[m[1] as string] = unquote(m[2] as string);
      else
        return fail(
          `cannot use "${word}" from the ssh args of ${name}: cutover reads only -o Option=value there`,
        );
    }
  }
  const connection = pick('ansible_connection');
  if (connection !== undefined && !['ssh', 'smart', 'local', 'paramiko'].includes(connection)) {
    return fail(
      `ansible_connection=${connection} of ${name} is not supported: cutover connects with ssh or local`,
    );
  }
  return {
    name,
    address: pick('ansible_host', 'ansible_ssh_host') ?? name,
    port,
    user: pick('ansible_user', 'ansible_ssh_user') ?? 'root',
    roles: [],
    vars: Object.fromEntries(Object.entries(vars).filter(([k]) => !k.startsWith('ansible_'))),
    sshOptions: resolveSshPaths(sshOptions, context.dir),
    transport: connection === 'local' ? 'local' : 'ssh',
  };
}
