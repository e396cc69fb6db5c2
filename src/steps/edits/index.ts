/**
 * Pure file edits (`before -> after` text functions, no I/O). The engine fetches the file, calls
 * `applyEdit`, shows `unifiedDiff`, backs up the original, swaps atomically and validates.
 */
import type { EditSpec, TextOp } from '../kind.js';
import { setKeyValue } from './keyvalue.js';
import { deleteLines, replaceLines } from './lines.js';
import { routeNginxLocations, setUpstreamServerDown } from './nginx.js';
import { setXmlAttribute } from './xml.js';
import { applyYamlOps } from './yaml.js';

export { unifiedDiff } from './diff.js';
export { EditError } from './edit-error.js';
export {
  type NginxDirective,
  type NginxToken,
  parseNginx,
  routeNginxLocations,
  tokenizeNginx,
} from './nginx.js';
export { setKeyValue } from './keyvalue.js';
export { deleteLines, replaceLines } from './lines.js';
export { setXmlAttribute } from './xml.js';
export { applyYamlOps } from './yaml.js';

/**
 * Applies an edit spec to a file's text; returns the input itself when nothing needs to change.
 * Throws an EditError (no I/O happened) when the file does not fit the spec.
 * Example: `applyEdit(conf, { editor: 'nginx', locations: ['/'], upstream: 'http://10.0.0.11:8080' })`.
 */
export function applyEdit(before: string, spec: EditSpec): string {
  switch (spec.editor) {
    case 'yaml':
      return applyYamlOps(before, spec.ops);
    case 'nginx':
      return routeNginxLocations(before, spec.locations, spec.upstream);
    case 'nginx-upstream':
      return setUpstreamServerDown(before, spec.upstream, spec.server, spec.down);
    case 'text':
      return applyTextOps(before, spec.ops);
  }
}

/** Text edits in order, each on the result of the one before. Example: `applyTextOps('a=1\n', [{ op: 'set', format: 'properties', key: 'a', value: '2' }])` -> `'a=2\n'`. */
export function applyTextOps(before: string, ops: readonly TextOp[]): string {
  let text = before;
  for (const op of ops) {
    if (op.op === 'replace') text = replaceLines(text, op);
    else if (op.op === 'delete') text = deleteLines(text, op);
    else if (op.op === 'set') text = setKeyValue(text, op);
    else text = setXmlAttribute(text, op);
  }
  return text;
}
