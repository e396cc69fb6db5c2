/**
 * Reads a YAML sample block of a document (the directives it shows next to "edit the config")
 * into flat keys: nested maps become `a/b` (yaml.edit's key path), a key without a value
 * (`clusterNodes:`) has the value null, and a comment line above a key is kept.
 */
import { isMap, isPair, isScalar, type Node, parseDocument, type YAMLMap } from 'yaml';

/** One key of a sample. Example: `{ key: 'db.holdLock', value: true, comment: 'Не загружает платформу ...' }`. */
export interface SampleEntry {
  key: string;
  value: unknown;
  comment?: string;
}

/** Flat keys of a YAML sample; [] when it is not a map. Example: parseYaml('a:\n  b: 1\nc:') -> [{ key: 'a/b', value: 1 }, { key: 'c', value: null }]. */
export function parseYaml(text: string): SampleEntry[] {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return [];
  const out: SampleEntry[] = [];
  const visit = (map: YAMLMap, prefix: string, firstComment?: string) => {
    // A comment line after a key without a value is parsed as that value's trailing comment.
    let carried: string | undefined = firstComment;
    for (const pair of map.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = `${prefix}${String(pair.key.value)}`;
      const raw = pair.key.commentBefore ?? carried;
      carried = undefined;
      const comment = raw?.trim().split('\n').pop()?.trim();
      if (isMap(pair.value)) {
        visit(pair.value, `${key}/`, comment);
        continue;
      }
      const empty = pair.value === null || (isScalar(pair.value) && pair.value.value === null);
      if (empty && isScalar(pair.value)) carried = pair.value.comment ?? undefined;
      const value = empty ? null : isScalar(pair.value) ? pair.value.value : (pair.value as Node).toJSON();
      out.push({ key, value, ...(comment ? { comment } : {}) });
    }
  };
  visit(doc.contents, '', doc.contents.commentBefore ?? undefined);
  return out;
}
