import { z } from 'zod';
import { Secret } from '../shell/secret.js';
import { Expanded, isHostDate, TemplatedWord } from '../shell/word.js';
import { defineKind, type YamlOp } from './kind.js';
import { recorded, restoreOriginal, stepDir, targetPath } from './support.js';

const KEY = /^[^/]+(\/[^/]+)*$/;
const keyPath = z
  .string()
  .regex(KEY, 'expected a key path like db.holdLock or server/port (segments split by /, none empty)');

/** Why a value cannot be written by the controller into a file, or undefined when it can. */
function unwritable(value: unknown): string | undefined {
  if (
    value instanceof Secret ||
    (value instanceof TemplatedWord && value.parts.some((p) => p instanceof Secret))
  ) {
    return 'holds a secret, which yaml.edit does not write into files (the diff would show it)';
  }
  if (isHostDate(value) || (value instanceof TemplatedWord && value.parts.some(isHostDate))) {
    return 'depends on the host clock, which the controller cannot evaluate';
  }
  if (Array.isArray(value)) return value.map(unwritable).find(Boolean);
  if (
    value &&
    typeof value === 'object' &&
    !(value instanceof Expanded) &&
    !(value instanceof TemplatedWord)
  ) {
    return Object.values(value).map(unwritable).find(Boolean);
  }
  return undefined;
}

/** Template text becomes plain text inside values. */
function plainValue(value: unknown): unknown {
  if (value instanceof Expanded || value instanceof TemplatedWord) return String(value);
  if (Array.isArray(value)) return value.map(plainValue);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  return value;
}

const params = z
  .object({
    file: targetPath.describe('absolute path of the YAML file on the host'),
    set: z
      .record(keyPath, z.unknown())
      .optional()
      .describe(
        "keys to set (added if missing), e.g. { 'db.holdLock': true }; / separates nested keys, a . is part of a key name",
      ),
    delete: z
      .array(keyPath)
      .optional()
      .describe('keys to remove, e.g. [isContainerEnvironment, clusterNodes]'),
    comments: z
      .record(keyPath, z.string())
      .optional()
      .describe(
        'a comment line to put above a key being set, e.g. { db.holdLock: "Wait for hold.lock removal" }',
      ),
  })
  .strict()
  .superRefine((p, ctx) => {
    const set = Object.keys(p.set ?? {});
    if (set.length === 0 && (p.delete ?? []).length === 0) {
      ctx.addIssue({ code: 'custom', message: 'nothing to edit: give set and/or delete', path: [] });
    }
    for (const key of p.delete ?? []) {
      if (set.includes(key))
        ctx.addIssue({ code: 'custom', message: `"${key}" is both set and deleted`, path: ['delete'] });
    }
    for (const key of Object.keys(p.comments ?? {})) {
      if (!set.includes(key)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${key}" gets a comment but is not set; comments go with keys in set`,
          path: ['comments', key],
        });
      }
    }
    for (const [key, value] of Object.entries(p.set ?? {})) {
      const why = unwritable(value);
      if (why) ctx.addIssue({ code: 'custom', message: `the value ${why}`, path: ['set', key] });
    }
  });

type Params = z.output<typeof params>;

/** The edit operations: deletions first, then sets in the order written. Example: `{ delete: ['a'], set: { b: 1 } }` -> `[{ op: 'delete', key: 'a' }, { op: 'set', key: 'b', value: 1 }]`. */
export function yamlOps(p: Params): YamlOp[] {
  const ops: YamlOp[] = (p.delete ?? []).map((key) => ({ op: 'delete', key }));
  for (const [key, value] of Object.entries(p.set ?? {})) {
    const comment = p.comments?.[key];
    ops.push({ op: 'set', key, value: plainValue(value), ...(comment !== undefined ? { comment } : {}) });
  }
  return ops;
}

/**
 * `yaml.edit`: sets and deletes keys in a YAML file, keeping comments and layout (the engine
 * fetches the file, applies the pure edit, shows the diff, keeps the original, replaces it
 * atomically). The undo restores the original byte-identical.
 * Example: `{ file: '/usr/share/comindware/configs/instance/cmw.yml', delete: ['isContainerEnvironment'], set: { 'db.holdLock': true } }`.
 */
export const yamlEdit = defineKind({
  name: 'yaml.edit',
  summary:
    'Set and delete keys of a YAML file, comments and layout kept (minimal diff shown in the plan run); keys split on /, a . is part of a name. The undo restores the original byte-identical.',
  params,
  intent: (p) => ({
    does: `edit ${String(p.file)}: ${[...(p.delete ?? []).map((k) => `delete ${k}`), ...Object.keys(p.set ?? {}).map((k) => `set ${k}`)].join(', ')}`,
    undo: 'restore the file byte-identical',
  }),
  rerunSafe: true,
  plan(p, ctx) {
    return {
      actions: [
        {
          type: 'edit',
          path: p.file,
          spec: { editor: 'yaml', ops: yamlOps(p) },
          backupPath: `${stepDir(ctx)}/original`,
        },
      ],
    };
  },
  compensate(p, outputs) {
    const backup = recorded(outputs, 'backup');
    if (backup === undefined) return [];
    const cmd = restoreOriginal('yaml.edit', backup, recorded(outputs, 'path') ?? p.file);
    return [{ type: 'exec', cmd, description: 'restore the original file' }];
  },
});
