import { z } from 'zod';
import { lines, raw, script, sh } from '../shell/command.js';
import { Secret } from '../shell/secret.js';
import { isHostDate, partsOf, type Word } from '../shell/word.js';
import { parseElementPath } from './edits/xml.js';
import { defineKind, type KeyValueFormat, type TextOp } from './kind.js';
import { scriptText, word } from './params.js';
import { jsRegex, recorded, restoreOriginal, shown, stepDir, targetPath } from './support.js';

/** Why a value cannot be written into a file by the controller, or undefined when it can. */
function unwritable(value: unknown): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return undefined;
  const parts = partsOf(value as Word);
  if (parts.some((p) => p instanceof Secret))
    return 'holds a secret, which text.edit does not write into files (the diff would show it)';
  if (parts.some(isHostDate)) return 'depends on the host clock, which the controller cannot evaluate';
  return undefined;
}

const setValue = z
  .union([z.string(), z.number(), z.boolean(), word])
  .meta({ type: 'string', description: 'the text written after the separator, as is' });

const replaceOp = z
  .object({
    pattern: jsRegex.describe(
      'regex (JavaScript syntax) tried on each line without its line ending, e.g. ^maxSessionTimeout=.*',
    ),
    with: z
      .string()
      .refine((s) => !/[\r\n]/.test(s), 'expected one line: a line edit replaces within a line')
      .describe('the replacement: $1 is a group, $& the match, $$ a $, e.g. maxSessionTimeout=60000'),
    all: z
      .boolean()
      .default(false)
      .describe("replace every match of a line (sed's g), not only the first (default false)"),
    allow_no_match: z
      .boolean()
      .default(false)
      .describe(
        'succeed when no line matches (default false: a pattern that matches nothing fails the step)',
      ),
  })
  .strict();

const deleteOp = z
  .object({
    pattern: jsRegex.describe(
      'regex (JavaScript syntax) tried on each line without its line ending; every line it matches is removed, e.g. ^debug=',
    ),
    allow_no_match: z
      .boolean()
      .default(false)
      .describe(
        'succeed when no line matches (default false: a pattern that matches nothing fails the step)',
      ),
  })
  .strict();

const xmlOp = z
  .object({
    element: z
      .string()
      .superRefine((path, ctx) => {
        try {
          parseElementPath(path);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      })
      .describe(
        "the one element, by names from the root with optional [@attr='value'] conditions, or // for anywhere, e.g. Server/Service/Connector[@port='8080']",
      ),
    attribute: z
      .string()
      .regex(/^[A-Za-z_:][-A-Za-z0-9_:.]*$/, 'expected an attribute name such as port')
      .describe('the attribute to set (added if missing), e.g. port'),
    value: z.string().describe('its new value, unescaped (cutover escapes & < and the quote), e.g. 8081'),
  })
  .strict();

const FORMATS = ['properties', 'ini', 'env'] as const;

/** The key=value dialect a file name implies. Example: `formatOf('/etc/shop/application.properties')` -> 'properties'. */
export function formatOf(file: string): KeyValueFormat | undefined {
  const name = file.slice(file.lastIndexOf('/') + 1);
  if (/\.properties$/.test(name)) return 'properties';
  if (/\.(?:ini|cnf)$/.test(name)) return 'ini';
  if (/^\.env(?:\.|$)|\.env$/.test(name)) return 'env';
  return undefined;
}

const params = z
  .object({
    file: targetPath.describe('absolute path of the text file on the host, e.g. /opt/zookeeper/conf/zoo.cfg'),
    replace: z
      .array(replaceOp)
      .optional()
      .describe("line replacements, as sed -i 's/PATTERN/WITH/' makes them, applied in order"),
    delete: z
      .array(deleteOp)
      .optional()
      .describe(
        "lines to remove, as sed -i '/PATTERN/d' removes them, applied in order after the replacements",
      ),
    set: z
      .record(
        z
          .string()
          .regex(
            /^[^\s=/]+(?:\/[^\s=]+)?$/,
            'expected a key such as server.port, or section/key in an .ini file',
          ),
        setValue,
      )
      .optional()
      .describe(
        "keys to set (added if missing) in a key=value file, e.g. { 'server.port': 8081 }; in an .ini file section/key, e.g. mysqld/max_connections",
      ),
    format: z
      .enum(FORMATS)
      .optional()
      .describe('the key=value dialect for set: properties, ini or env (default from the file name)'),
    xml: z.array(xmlOp).optional().describe('XML attributes to set, each on exactly one element'),
    validate: scriptText
      .optional()
      .describe('checks the edited file (e.g. nginx -t); on failure the original is put back'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const set = Object.entries(p.set ?? {});
    if (set.length + (p.replace ?? []).length + (p.delete ?? []).length + (p.xml ?? []).length === 0)
      ctx.addIssue({
        code: 'custom',
        message: 'nothing to edit: give replace, delete, set and/or xml',
        path: [],
      });
    if (set.length > 0 && !p.format && !formatOf(shown(p.file)))
      ctx.addIssue({
        code: 'custom',
        message: `cannot tell the key=value dialect of ${shown(p.file)} from its name: give format (properties, ini or env)`,
        path: ['format'],
      });
    const format = p.format ?? formatOf(shown(p.file));
    for (const [key, value] of set) {
      const why = unwritable(value);
      if (why) ctx.addIssue({ code: 'custom', message: `the value ${why}`, path: ['set', key] });
      if (key.includes('/') && format !== 'ini')
        ctx.addIssue({
          code: 'custom',
          message: `section/key is for .ini files; ${format ?? 'this'} format has no sections`,
          path: ['set', key],
        });
    }
  });

type Params = z.output<typeof params>;

/** The edits in order: replacements, then deletions, then keys, then XML attributes. Example: `{ set: { a: 1 } }` on x.properties -> `[{ op: 'set', format: 'properties', key: 'a', value: '1' }]`. */
export function textOps(p: Params): TextOp[] {
  const format = (p.format ?? formatOf(shown(p.file))) as KeyValueFormat;
  return [
    ...(p.replace ?? []).map(
      (r): TextOp => ({
        op: 'replace',
        pattern: r.pattern,
        with: r.with,
        all: r.all,
        allowNoMatch: r.allow_no_match,
      }),
    ),
    ...(p.delete ?? []).map(
      (d): TextOp => ({ op: 'delete', pattern: d.pattern, allowNoMatch: d.allow_no_match }),
    ),
    ...Object.entries(p.set ?? {}).map(([name, value]): TextOp => {
      const slash = format === 'ini' ? name.indexOf('/') : -1;
      const key = slash >= 0 ? name.slice(slash + 1) : name;
      const text = String(value);
      return slash >= 0
        ? { op: 'set', format, key, section: name.slice(0, slash), value: text }
        : { op: 'set', format, key, value: text };
    }),
    ...(p.xml ?? []).map(
      (x): TextOp => ({ op: 'xml', element: x.element, attribute: x.attribute, value: x.value }),
    ),
  ];
}

function words(p: Params): string {
  return textOps(p)
    .map((op) =>
      op.op === 'replace'
        ? `replace /${op.pattern}/`
        : op.op === 'delete'
          ? `delete lines /${op.pattern}/`
          : op.op === 'set'
            ? `set ${op.section ? `${op.section}/` : ''}${op.key}`
            : `set ${op.attribute} on ${op.element}`,
    )
    .join(', ');
}

/**
 * `text.edit`: line replacements (sed -i 's/a/b/'), line deletions (sed -i '/a/d'), key=value sets in .properties/.ini/.env files and
 * XML attribute sets, every other byte kept. The engine fetches the file, applies the pure edit,
 * shows the diff, keeps the original byte-identical, replaces the file atomically, validates (and
 * puts the original back on failure). A re-run edits the first original again. The undo restores
 * the original byte-identical.
 * Example: `{ file: '/opt/zookeeper/conf/zoo.cfg', replace: [{ pattern: '^maxSessionTimeout=.*', with: 'maxSessionTimeout=60000' }] }`.
 */
export const textEdit = defineKind({
  name: 'text.edit',
  summary:
    "Edit a text file byte-exactly: line replacements as sed -i 's/a/b/' makes them and line deletions as sed -i '/a/d' does (a pattern that matches nothing fails), key=value sets in .properties/.ini/.env files, XML attribute sets; diff shown in plan --probe, optional validate. The undo restores the original byte-identical.",
  params,
  intent: (p) => ({
    does: `edit ${shown(p.file)}: ${words(p)}${p.validate ? ', validate' : ''}`,
    undo: 'restore the file byte-identical',
  }),
  rerunSafe: true,
  plan(p, ctx) {
    const dir = stepDir(ctx);
    const result = `${dir}/edited.sha256`;
    return {
      actions: [
        {
          type: 'edit',
          path: p.file,
          spec: { editor: 'text', ops: textOps(p) },
          backupPath: `${dir}/original`,
          resultPath: result,
          ...(p.validate !== undefined ? { validate: script(p.validate) } : {}),
        },
      ],
      probe: {
        cmd: lines(
          sh`f=${p.file}`,
          sh`s=${result}`,
          raw('[ -e "$s" ] || exit 1'),
          raw('[ -e "$f" ] || exit 2'),
          raw('h=$(sha256sum < "$f") || exit 2'),
          // The hash alone: sha256sum prints `HASH  -`.
          raw(`[ "$` + `{h%% *}" = "$(cat "$s")" ]`),
        ),
        description: `${shown(p.file)} is as this step's edit left it (its sha256 is the one recorded)`,
      },
    };
  },
  compensate(p, outputs) {
    const backup = recorded(outputs, 'backup');
    if (backup === undefined) return [];
    const cmd = restoreOriginal('text.edit', backup, recorded(outputs, 'path') ?? p.file);
    return [{ type: 'exec', cmd, description: 'restore the original file' }];
  },
});
