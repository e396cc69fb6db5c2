import { z } from 'zod';
import { sh } from '../shell/command.js';
import { defineKind } from './kind.js';
import { recorded, replaceablePath, stepDir, withoutTrailingSlash } from './support.js';

const params = z
  .object({
    path: replaceablePath.describe('absolute path of the file (or, with keep, folder) to remove'),
    keep: z
      .boolean()
      .default(true)
      .describe(
        'move it into the run folder instead of deleting it, so the undo puts it back byte-identical (default true)',
      ),
  })
  .strict();

/**
 * `file.remove`: removes a path, by default by moving it into the run folder on the host so the
 * undo can move it back unchanged; with `keep: false` it deletes a file for good (never a folder).
 * An absent path is nothing to do. Example: `{ path: '/var/lib/comindware/cmw/Database/hold.lock' }`.
 */
export const fileRemove = defineKind({
  name: 'file.remove',
  summary:
    'Remove a file: by default moved into the run folder so the undo puts it back byte-identical; keep: false deletes it (files only). An absent path is nothing to do.',
  params,
  plan(p, ctx) {
    const path = withoutTrailingSlash(p.path);
    const dir = stepDir(ctx);
    const cmd = p.keep
      ? sh`p=${path}; d=${dir}; if [ -e "$p" ] || [ -L "$p" ]; then if [ -e "$d/kept" ] || [ -L "$d/kept" ]; then printf 'file.remove: %s already holds an earlier copy; %s was left in place\\n' "$d/kept" "$p" >&2; exit 1; fi; mkdir -p -- "$d" && mv -T -- "$p" "$d/kept" || exit 2; elif [ ! -e "$d/kept" ] && [ ! -L "$d/kept" ]; then printf 'file.remove: nothing to do: %s is absent\\n' "$p" >&2; printf 'path=%s\\n' "$p"; exit 0; fi; printf 'path=%s\\nkept=%s\\n' "$p" "$d/kept"`
      : sh`p=${path}; if [ -d "$p" ] && [ ! -L "$p" ]; then printf 'file.remove: %s is a folder; keep: false removes files only (use keep: true to move it aside)\\n' "$p" >&2; exit 2; fi; rm -f -- "$p"`;
    return {
      actions: [{ type: 'exec', cmd, ...(p.keep ? { capture: { keyValues: true } } : {}) }],
      probe: {
        cmd: p.keep
          ? sh`p=${path}; d=${dir}; if [ -e "$d/kept" ] || [ -L "$d/kept" ]; then printf 'path=%s\\nkept=%s\\n' "$p" "$d/kept"; fi; if [ -e "$p" ] || [ -L "$p" ]; then exit 1; fi`
          : sh`p=${path}; if [ -e "$p" ] || [ -L "$p" ]; then exit 1; fi`,
        description: `${String(path)} is absent`,
      },
    };
  },
  compensate(p, outputs) {
    const kept = recorded(outputs, 'kept');
    if (!p.keep || kept === undefined) return [];
    const path = recorded(outputs, 'path') ?? withoutTrailingSlash(p.path);
    return [
      {
        type: 'exec',
        cmd: sh`p=${path}; k=${kept}; if [ ! -e "$k" ] && [ ! -L "$k" ]; then printf 'file.remove undo: the kept copy %s is gone; cannot put back %s\\n' "$k" "$p" >&2; exit 1; fi; mv -f -T -- "$k" "$p"`,
        description: 'put the removed file back',
      },
    ];
  },
});
