/** `nano FILE` and other editors: a yaml.edit or nginx.route stub, or a manual gate. */
import type { TemplateUse } from '../placeholders.js';
import { readKeyValueSample, sampleFormat } from '../file-sample.js';
import {
  draft,
  type FileSampleBlock,
  type Recognition,
  type RecogniseContext,
  type Recogniser,
} from './context.js';
import { parseYaml } from '../yaml-sample.js';
import { dateNotes, nameOf, operands, resolvePath } from './support.js';

const EDITORS = new Set(['nano', 'vi', 'vim', 'vim.tiny', 'nvim', 'emacs', 'mcedit', 'joe', 'edit']);

/** `nano FILE`: a yaml.edit stub (keys from the YAML samples after it), an nginx.route stub, or a manual gate. */
export const editor: Recogniser = (cmd, words, ctx) => {
  if (!EDITORS.has(words[0]?.value ?? '') || cmd.stages.length > 1) return undefined;
  const files = operands(words.slice(1));
  if (files.length !== 1) return undefined;
  const uses: TemplateUse[] = [];
  const file = resolvePath(files[0]?.value as string, ctx, uses);
  if (!file) return undefined;
  const todo = [...file.notes, ...dateNotes(uses)];
  if (/\.ya?ml$/.test(file.path)) return yamlStub(file.path, todo, ctx);
  if (/nginx/.test(file.path)) {
    const upstream = ctx.templater.param(
      'upstream',
      ctx.line,
      'where the nginx locations should send requests while this node is upgraded',
    );
    const locations = ctx.locations.length > 0 ? ctx.locations : ['/'];
    return {
      type: 'steps',
      recognised: false,
      why: 'an nginx config edited by hand: an nginx.route stub',
      steps: [
        draft(
          'nginx.route',
          { config: file.path, locations, upstream: `{{ params.${upstream} }}` },
          `route ${nameOf(file.path)}`,
          [
            ...todo,
            `the document edits this nginx file by hand: check the locations (${ctx.locations.length > 0 ? 'taken from the text' : 'none named in the text, / assumed'}) and the upstream; a phase \`drain:\` does the same per node, picks a healthy neighbour and restores the file after`,
          ],
        ),
      ],
    };
  }
  const samples = (ctx.fileSamples?.() ?? []).filter((x) => x.file === files[0]?.value);
  const keyValues = keyValueEdit(file.path, todo, ctx, samples);
  if (keyValues) return keyValues;
  const shown = samples.flatMap((x) => x.lines.filter((l) => l.text.trim() !== '').map((l) => l.line));
  return {
    type: 'steps',
    recognised: false,
    why: `an interactive editor on ${file.path}: a manual gate`,
    steps: [
      draft(
        'gate.confirm',
        { message: `Edit ${file.path} as the document says (line ${ctx.line}), then approve.` },
        `edit ${nameOf(file.path)}`,
        [
          ...todo,
          ...(shown.length > 0
            ? [
                `the document shows this file's lines at line ${shown.join(', ')}, which cutover cannot read as keys to set`,
              ]
            : []),
          'an editor cannot run unattended: describe the edit as a step (yaml.edit for YAML, nginx.route for nginx, text.edit for a line or key=value change) and delete this gate',
        ],
      ),
    ],
  };
};

/** One key to set: `section/key` for an ini section, and where the document gives it. */
interface KeyToSet {
  name: string;
  value: string;
  line: number;
}

/**
 * Keys the text says to set in a key=value file (inline `k=v` in the line, and the sample blocks
 * after it) as one text.edit; exact (no TODO) only when every line of the samples was read in a
 * dialect the file name or block language gives. Undefined when there are no keys, or a key is
 * given twice.
 */
function keyValueEdit(
  path: string,
  todo: string[],
  ctx: RecogniseContext,
  samples: readonly FileSampleBlock[],
): Recognition | undefined {
  const assignments = ctx.assignments ?? [];
  const format = sampleFormat(path, samples[0]?.lang ?? '');
  // Keys in the prose alone, for a file of no known dialect: a person edits it (a gate).
  if (!format && samples.length === 0) return undefined;
  const dialect = format ?? 'properties';
  const keys: KeyToSet[] = assignments.map((a) => ({ name: a.key, value: a.value, line: a.line }));
  const unread: { line: number; text: string }[] = [];
  for (const sample of samples) {
    const read = readKeyValueSample(sample.lines, dialect);
    keys.push(
      ...read.keys.map((k) => ({
        name: k.section ? `${k.section}/${k.key}` : k.key,
        value: k.value,
        line: k.line,
      })),
    );
    unread.push(...read.unread);
  }
  if (keys.length === 0 || new Set(keys.map((k) => k.name)).size !== keys.length) return undefined;
  const notes = [...todo];
  if (assignments.length > 0) {
    const lines = [...new Set(assignments.map((a) => a.line))];
    notes.push(
      `the text at line ${lines.join(', ')} says to set ${assignments.map((a) => `\`${a.key}=${a.value}\``).join(', ')} in this file: a key that is not there is added at the end; check that these are all the changes the text means`,
    );
  }
  if (!format && samples.length > 0)
    notes.push(
      `neither the file name nor the block says the key=value dialect of ${path}: read as properties (\`key=value\`, # comments, no sections); set format if it is ini or env`,
    );
  if (unread.length > 0)
    notes.push(
      `line ${unread.map((l) => `${l.line} (\`${l.text.trim()}\`)`).join(', ')} of the document's sample ${unread.length > 1 ? 'are' : 'is'} not a \`key=value\` cutover can set in ${dialect === 'properties' ? 'a' : 'an'} ${dialect} file: add ${unread.length > 1 ? 'them' : 'it'} to this step by hand`,
    );
  if (samples.some((x) => x.adds))
    notes.push(
      'the text says to add these lines: a key already in the file is changed where it is, not added a second time',
    );
  const where = [...new Set([...samples.map((x) => x.line), ...assignments.map((a) => a.line)])];
  return {
    type: 'steps',
    recognised: notes.length === 0,
    why: `the text at line ${where.join(', ')} says to set ${keys.map((k) => k.name).join(', ')} in ${path}: a text.edit${samples.length > 0 ? ` (keys from the sample at line ${samples.map((x) => x.lines[0]?.line ?? x.line).join(', ')})` : ''}`,
    steps: [
      draft(
        'text.edit',
        {
          file: path,
          ...(format ? {} : { format: dialect }),
          set: Object.fromEntries(keys.map((k) => [k.name, ctx.templater.template(k.value, k.line)])),
        },
        `edit ${nameOf(path)}`,
        notes,
      ),
    ],
  };
}

function yamlStub(path: string, todo: string[], ctx: RecogniseContext): Recognition {
  const set: Record<string, unknown> = {};
  const comments: Record<string, string> = {};
  const deleted: string[] = [];
  const samples = ctx.yamlSamples();
  for (const sample of samples) {
    for (const entry of parseYaml(sample.text)) {
      const key = entry.key;
      if (entry.value === null) {
        if (!deleted.includes(key)) deleted.push(key);
        delete set[key];
        delete comments[key];
      } else {
        set[key] =
          typeof entry.value === 'string' ? ctx.templater.template(entry.value, sample.line) : entry.value;
        if (entry.comment) comments[key] = entry.comment;
        const at = deleted.indexOf(key);
        if (at >= 0) deleted.splice(at, 1);
      }
    }
  }
  const lines = samples.map((s) => s.line);
  const found = Object.keys(set).length + deleted.length > 0;
  // One sample of plain keys to set says exactly what to write; variants, deletions and lists are a person's call.
  const exact =
    found &&
    samples.length === 1 &&
    deleted.length === 0 &&
    Object.values(set).every((v) => typeof v !== 'object' || v === null);
  return {
    type: 'steps',
    recognised: exact && todo.length === 0,
    why: found
      ? `a YAML file edited by hand: a yaml.edit stub with the keys of the samples at line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}`
      : 'a YAML file edited by hand: a yaml.edit stub (the document shows no keys)',
    steps: [
      draft(
        'yaml.edit',
        found
          ? {
              file: path,
              ...(Object.keys(set).length > 0 ? { set } : {}),
              ...(deleted.length > 0 ? { delete: deleted } : {}),
              ...(Object.keys(comments).length > 0 ? { comments } : {}),
            }
          : { file: path, set: { TODO: 'the key to set' } },
        `edit ${nameOf(path)}`,
        [
          ...todo,
          ...(exact
            ? []
            : [
                found
                  ? 'the document edits this file by hand: keys without a value in its samples are deleted, the others set; check which apply to your version (a `when:` on params can hold each variant) and remove the rest'
                  : 'the document edits this file by hand and shows no keys: write the keys to set and delete',
              ]),
        ],
      ),
    ],
  };
}
