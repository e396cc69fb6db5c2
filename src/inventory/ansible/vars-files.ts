/**
 * `group_vars/` and `host_vars/` next to each inventory source, found as Ansible's
 * host_group_vars plugin finds them: for an entity `web`, the first of `web`, `web.yml`,
 * `web.yaml`, `web.json` that exists; when that is a folder, every file in it (sorted, recursing,
 * hidden files and `~` backups skipped, extension none/.yml/.yaml/.json). A source file's folder
 * is its dirname; a source folder is itself. (Playbook-adjacent vars folders do not apply: cutover
 * has no playbook.)
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { InputProblem } from '../../errors.js';
import { YamlSource } from '../../source/yaml.js';
import type { Vars } from './model.js';
import { isVaultFile, vaultValues, withoutVaultWarnings } from './vault.js';
import { yamlVars } from './yaml.js';

const EXTENSIONS = ['', '.yml', '.yaml', '.json'];

async function kind(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

async function dirFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (entry.startsWith('.') || entry.endsWith('~')) continue;
    const full = join(dir, entry);
    const ext = extname(entry);
    const k = await kind(full);
    if (k === 'dir' && !ext) out.push(...(await dirFiles(full)));
    else if (k === 'file' && EXTENSIONS.includes(ext)) out.push(full);
  }
  return out;
}

/** The vars files of one entity in `base/<sub>/`, in the order Ansible combines them. */
export async function varsFilesOf(
  base: string,
  sub: 'group_vars' | 'host_vars',
  name: string,
): Promise<string[]> {
  const stem = join(base, sub, name);
  for (const ext of EXTENSIONS) {
    const path = `${stem}${ext}`;
    const k = await kind(path);
    if (k === 'dir') return dirFiles(path);
    if (k === 'file') return [path];
  }
  return [];
}

/** Reads one vars file (a YAML/JSON map) into Vars with locations; cached in `memo` (one per load) by path. */
export function readVarsFile(
  file: string,
  memo: Map<string, Promise<{ vars: Vars; problems: InputProblem[] }>>,
): Promise<{ vars: Vars; problems: InputProblem[] }> {
  let entry = memo.get(file);
  if (!entry) {
    entry = (async () => {
      const text = await readFile(file, 'utf8');
      if (isVaultFile(text)) {
        return {
          vars: {},
          problems: [
            {
              file,
              line: 1,
              col: 1,
              path: '',
              message:
                'this vars file is encrypted with ansible-vault: cutover does not decrypt it, so none of its variables are read. If a step needs one, declare it as a cutover secret (env, file or prompt); an ansible_become_password there is asked for by cutover instead',
              severity: 'warning' as const,
            },
          ],
        };
      }
      const source = new YamlSource(file, text);
      const problems = withoutVaultWarnings(source.parseProblems);
      const raw = source.value();
      if (raw === null || raw === undefined) return { vars: {}, problems };
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        problems.push(
          source.problem([], 'expected a map of variables (name: value), as Ansible reads vars files'),
        );
        return { vars: {}, problems };
      }
      const vault = new Set(vaultValues(source).map((v) => v.path.join('\u0000')));
      return { vars: yamlVars(source, raw as Record<string, unknown>, [], vault), problems };
    })();
    memo.set(file, entry);
  }
  return entry;
}
