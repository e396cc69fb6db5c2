/** `nano FILE` and other editors: a yaml.edit or nginx.route stub, or a manual gate. */
import type { TemplateUse } from '../placeholders.js';
import { draft, type Recognition, type RecogniseContext, type Recogniser } from './context.js';
import { parseYaml } from '../yaml-sample.js';
import { formatOf } from '../../steps/text-edit.js';
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
  const assignments = ctx.assignments ?? [];
  if (
    formatOf(file.path) &&
    assignments.length > 0 &&
    new Set(assignments.map((a) => a.key)).size === assignments.length
  ) {
    const lines = [...new Set(assignments.map((a) => a.line))];
    return {
      type: 'steps',
      recognised: false,
      why: `the text at line ${lines.join(', ')} says to set ${assignments.map((a) => a.key).join(', ')} in ${file.path}: a text.edit`,
      steps: [
        draft(
          'text.edit',
          {
            file: file.path,
            set: Object.fromEntries(assignments.map((a) => [a.key, ctx.templater.template(a.value, a.line)])),
          },
          `edit ${nameOf(file.path)}`,
          [
            ...todo,
            `the text at line ${lines.join(', ')} says to set ${assignments.map((a) => `\`${a.key}=${a.value}\``).join(', ')} in this file: a key that is not there is added at the end; check that these are all the changes the text means`,
          ],
        ),
      ],
    };
  }
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
          'an editor cannot run unattended: describe the edit as a step (yaml.edit for YAML, nginx.route for nginx, text.edit for a line or key=value change) and delete this gate',
        ],
      ),
    ],
  };
};

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
  return {
    type: 'steps',
    recognised: false,
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
          found
            ? 'the document edits this file by hand: keys without a value in its samples are deleted, the others set; check which apply to your version (a `when:` on params can hold each variant) and remove the rest'
            : 'the document edits this file by hand and shows no keys: write the keys to set and delete',
        ],
      ),
    ],
  };
}
