/**
 * Loads an inventory: cutover's YAML format, or Ansible inventories (INI or YAML, detected by
 * content) that users already have — one file, a folder of them, or several `-i` merged in order,
 * with `group_vars/` and `host_vars/` read by Ansible's rules (see ansible/index.ts). Problems are
 * positioned like the runbook's (`file:line:col: path: message`) and thrown together as one
 * InputError; warnings (what cutover reads but cannot honour) come back with the inventory.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { type InputProblem, InputError } from '../errors.js';
import { readInputFile } from '../source/read.js';
import { YamlSource } from '../source/yaml.js';
import { ansibleHosts, type AnsibleSourceRoot, NO_VARS_FILES, readVarsFiles } from './ansible/index.js';
import { parseIni } from './ansible/ini.js';
import { type AnsibleInventory, emptyAnsible, mergeInto } from './ansible/model.js';
import { MAX_HOSTS } from './ansible/range.js';
import { withoutVaultWarnings } from './ansible/vault.js';
import { looksLikeAnsible, parseAnsibleYaml } from './ansible/yaml.js';
import { checkHosts } from './checks.js';
import type { Host, Inventory } from './model.js';
import { inventorySchema } from './schema.js';

export { expandHostPattern } from './ansible/range.js';

/** The inventory formats cutover reads. Example: `'ansible-ini'` for a file with `[web]` sections. */
export type InventoryFormat = 'cutover' | 'ansible-yaml' | 'ansible-ini';

/** An inventory and the warnings found while reading it. */
export interface LoadedInventory {
  inventory: Inventory;
  warnings: InputProblem[];
}

/**
 * Reads an inventory file in any supported format. Throws InputError listing every problem.
 * Example: `const inventory = await loadInventory('examples/comindware/inventory.lab.yml')`.
 */
export async function loadInventory(file: string | string[]): Promise<Inventory> {
  return (await loadInventories(Array.isArray(file) ? file : [file])).inventory;
}

/**
 * Reads one or more inventory sources (files or folders) as `-i` does, merged in order; throws
 * InputError with every error (and the warnings). Example:
 * `const { inventory, warnings } = await loadInventories(['hosts.ini', 'extra/'])`.
 */
export async function loadInventories(paths: string[]): Promise<LoadedInventory> {
  const problems: InputProblem[] = [];
  const sources: { file: string; text: string }[] = [];
  const roots: AnsibleSourceRoot[] = [];
  for (const path of paths.map((p) => resolve(p))) {
    const isDir = await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    roots.push({ path, isDir });
    if (!isDir) {
      sources.push({ file: path, text: await readInputFile(path, 'inventory') });
      continue;
    }
    const files = await inventoryFilesIn(path, problems);
    if (files.length === 0)
      problems.push(
        at(
          path,
          '',
          `the folder ${path} holds no inventory file (Ansible skips hidden, group_vars, host_vars and ${IGNORED_EXTS.join(' ')} entries)`,
        ),
      );
    for (const file of files) sources.push({ file, text: await readInputFile(file, 'inventory') });
  }
  const parsed = sources.map((s) => parseSource(s.text, s.file, problems));
  const cluster = basename(paths[0] ?? 'inventory', extname(paths[0] ?? ''));
  let inventory: Inventory | undefined;
  const cutover = parsed.filter((p) => p.format === 'cutover');
  if (cutover.length > 0 && parsed.length > 1) {
    for (const p of cutover)
      problems.push(
        at(
          p.file,
          '',
          'a cutover inventory cannot be merged with other -i sources: pass it alone (or write the hosts in Ansible format)',
        ),
      );
  } else if (cutover[0]) {
    const c = cutover[0];
    if (c.inventory) inventory = { ...c.inventory, cluster: c.inventory.cluster || cluster };
  } else {
    const merged = emptyAnsible();
    for (const p of parsed) if (p.ansible) mergeInto(merged, p.ansible);
    const hosts = ansibleHosts(merged, await readVarsFiles(merged, roots), problems);
    if (hosts.length === 0 && !problems.some((p) => p.severity === 'error'))
      problems.push(
        at(sources[0]?.file ?? paths[0] ?? '', '', 'the inventory has no hosts: add at least one'),
      );
    const dirOf = roots[0] ? (roots[0].isDir ? roots[0].path : dirname(roots[0].path)) : process.cwd();
    for (const h of hosts) h.sshOptions = resolveSshPaths(h.sshOptions, dirOf);
    inventory = { file: roots[0]?.path ?? '', cluster, hosts };
  }
  if (inventory) {
    if (roots.length > 1) inventory.files = roots.map((r) => r.path);
    problems.push(...checkHosts(inventory.hosts));
  }
  const sorted = sortProblems(problems);
  if (!inventory || sorted.some((p) => p.severity === 'error')) {
    throw new InputError(
      sorted,
      'Fix the inventory and run `cutover validate` again; nothing was changed on any host.',
    );
  }
  return { inventory, warnings: sorted };
}

/**
 * Parses one inventory text (no group_vars/host_vars: see loadInventories) without throwing;
 * `file` names it in problems and anchors relative ssh paths. Example:
 * parseInventory('[web]\nweb ansible_host=10.0.0.10\n', 'hosts.ini')).inventory.hosts[0].roles -> ['web'].
 */
export function parseInventory(
  text: string,
  file: string,
): { inventory?: Inventory; problems: InputProblem[]; format: InventoryFormat } {
  const problems: InputProblem[] = [];
  const p = parseSource(text, file, problems);
  let inventory = p.inventory;
  if (p.ansible) {
    const hosts = ansibleHosts(p.ansible, NO_VARS_FILES, problems);
    if (hosts.length === 0 && !problems.some((x) => x.severity === 'error'))
      problems.push(at(file, '', 'the inventory has no hosts: add at least one'));
    for (const h of hosts) h.sshOptions = resolveSshPaths(h.sshOptions, dirname(resolve(file)));
    inventory = { file: resolve(file), cluster: basename(file, extname(file)), hosts };
  }
  if (inventory) problems.push(...checkHosts(inventory.hosts));
  const sorted = sortProblems(problems);
  return {
    ...(inventory && !sorted.some((x) => x.severity === 'error') ? { inventory } : {}),
    problems: sorted,
    format: p.format,
  };
}

function at(
  file: string,
  path: string,
  message: string,
  severity: 'error' | 'warning' = 'error',
): InputProblem {
  return { file, line: 1, col: 1, path, message, severity };
}

function sortProblems(problems: InputProblem[]): InputProblem[] {
  return [...problems].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col,
  );
}

/** Extensions Ansible skips in an inventory folder (INVENTORY_IGNORE_EXTS), `.ini` included. */
const IGNORED_EXTS = [
  '~',
  '.orig',
  '.ini',
  '.cfg',
  '.retry',
  '.pyc',
  '.pyo',
  '.swp',
  '.bak',
  '.rpm',
  '.md',
  '.txt',
  '.rst',
];
const IGNORED_NAMES = /^(\.|host_vars$|group_vars$|vars_plugins$)/;

/** The inventory files of a folder, as Ansible walks it (sorted, recursing, ignored entries skipped). */
async function inventoryFilesIn(dir: string, problems: InputProblem[]): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (IGNORED_NAMES.test(entry)) continue;
    const full = join(dir, entry);
    if (IGNORED_EXTS.some((ext) => entry.endsWith(ext))) {
      if (entry.endsWith('.ini'))
        problems.push(
          at(
            full,
            '',
            'skipped, as Ansible skips .ini files in an inventory folder (INVENTORY_IGNORE_EXTS): rename it (e.g. without extension) or pass it with its own -i',
            'warning',
          ),
        );
      continue;
    }
    const s = await stat(full);
    if (s.isDirectory()) out.push(...(await inventoryFilesIn(full, problems)));
    else if (s.isFile()) out.push(full);
  }
  return out;
}

interface ParsedSource {
  file: string;
  format: InventoryFormat;
  /** A cutover inventory (format `cutover`). */
  inventory?: Inventory;
  ansible?: AnsibleInventory;
}

function parseSource(text: string, file: string, problems: InputProblem[]): ParsedSource {
  const ctx = { file, problems };
  if (text.startsWith('#!')) {
    problems.push(
      at(
        file,
        '',
        'an inventory script: cutover does not run inventory scripts; save its output as an Ansible YAML inventory (ansible-inventory -i SCRIPT --list -y) and pass that',
      ),
    );
    return { file, format: 'ansible-ini' };
  }
  if (/^\[[^\]\n]+\]\s*(?:[#;].*)?$/m.test(text))
    return { file, format: 'ansible-ini', ansible: parseIni(text, ctx, MAX_HOSTS) };
  const source = new YamlSource(file, text);
  const raw = source.value();
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    if (typeof raw === 'string' && /=/.test(text))
      return { file, format: 'ansible-ini', ansible: parseIni(text, ctx, MAX_HOSTS) };
    problems.push(...source.parseProblems);
    problems.push(
      source.problem(
        [],
        'expected an inventory: a map with `hosts:` (cutover), `all:` (Ansible YAML), or an Ansible INI file with [groups]',
      ),
    );
    return { file, format: 'cutover' };
  }
  problems.push(...withoutVaultWarnings(source.parseProblems));
  const map = raw as Record<string, unknown>;
  if (!looksLikeAnsible(map)) {
    const inventory = fromCutoverYaml(map, source, problems);
    return { file, format: 'cutover', ...(inventory ? { inventory } : {}) };
  }
  return { file, format: 'ansible-yaml', ansible: parseAnsibleYaml(map, source, ctx, MAX_HOSTS) };
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
  problems: InputProblem[],
): Inventory | undefined {
  const result = inventorySchema.safeParse(raw);
  if (!result.success) {
    problems.push(...source.zodProblems(result.error.issues, [], raw, inventorySchema));
    return undefined;
  }
  const doc = result.data;
  const defaults = doc.defaults ?? {};
  const dir = dirname(resolve(source.file));
  const hosts: Host[] = Object.entries(doc.hosts).map(([name, host]) => {
    const port = host?.port ?? defaults.port;
    const user = host?.user ?? defaults.user;
    const becomeUser = host?.become_user ?? defaults.become_user;
    // become_user turns become on where it is set, unless that level says become: false.
    const becomeOn =
      host?.become ??
      (host?.become_user !== undefined ? true : undefined) ??
      defaults.become ??
      defaults.become_user !== undefined;
    return {
      name,
      address: host?.address ?? name,
      ...(port !== undefined ? { port } : {}),
      ...(user !== undefined ? { user } : {}),
      roles: [...new Set(host?.roles ?? [])],
      vars: { ...doc.vars, ...(host?.vars ?? {}) },
      sshOptions: resolveSshPaths({ ...(defaults.ssh_options ?? {}), ...(host?.ssh_options ?? {}) }, dir),
      transport: host?.transport ?? defaults.transport ?? 'ssh',
      ...(becomeOn ? { become: { user: becomeUser ?? 'root', method: 'sudo' as const } } : {}),
      loc: source.loc(['hosts', name], 'key'),
    };
  });
  return { file: resolve(source.file), cluster: doc.cluster ?? '', hosts };
}
