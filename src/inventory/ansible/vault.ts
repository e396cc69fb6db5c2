/**
 * ansible-vault values are never read: cutover does not decrypt them and never passes the
 * ciphertext on as a value. A `!vault` value (or a whole vault-encrypted vars file) a host
 * would use is refused with the variable's name, its file:line:col and the way out: declare the
 * value as a cutover secret (from env, a file or a prompt) and use `{{ secrets.name }}`.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { Loc } from '../../source/loc.js';
import type { Path, YamlSource } from '../../source/yaml.js';

/** True for a file `ansible-vault encrypt` wrote. Example: isVaultFile('$ANSIBLE_VAULT;1.1;AES256\n...') -> true. */
export function isVaultFile(text: string): boolean {
  return text.startsWith('$ANSIBLE_VAULT;');
}

/** Paths (and where they are) of every `!vault` value in a YAML document. */
export function vaultValues(source: YamlSource): { path: Path; loc: Loc }[] {
  const out: { path: Path; loc: Loc }[] = [];
  const visit = (node: unknown, path: (string | number)[]) => {
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    if (n.tag === '!vault') {
      out.push({ path, loc: source.position(n.range?.[0] ?? 0) });
      return;
    }
    if (isMap(n))
      for (const p of n.items) if (isScalar(p.key)) visit(p.value, [...path, String(p.key.value)]);
    if (isSeq(n))
      n.items.forEach((item, i) => {
        visit(item, [...path, i]);
      });
  };
  visit(source.doc.contents, []);
  return out;
}

/** The parser's "Unresolved tag: !vault" warnings are replaced by cutover's own message. */
export function withoutVaultWarnings<T extends { message: string }>(problems: T[]): T[] {
  return problems.filter((p) => !/Unresolved tag: !vault/.test(p.message));
}

/** The way out for a vault value, named after the variable. */
export function vaultWayOut(name: string): string {
  const secret = name.replace(/^ansible_/, '').replace(/[^A-Za-z0-9_]/g, '_');
  return `declare it as a cutover secret (runbook \`secrets: { ${secret}: { env: ${secret.toUpperCase()} } }\`, or from a file or a prompt) and use {{ secrets.${secret} }}`;
}
