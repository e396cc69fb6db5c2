import { z } from 'zod';
import { ifChain, ifThen, lines, raw, sh } from '../shell/command.js';
import { defineKind } from './kind.js';
import {
  absent,
  exists,
  fail,
  recorded,
  replaceablePath,
  say,
  stepDir,
  v,
  warn,
  withoutTrailingSlash,
} from './support.js';

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

/** The kept copy in this step's folder: `"$d/kept"`. */
const KEPT = raw('"$d/kept"');
const keptExists = exists('d/kept');

/**
 * Moves "$p" into the step's folder (never over an earlier kept copy); an absent path with
 * nothing kept is nothing to do. Prints `path=` and, once something is kept, `kept=`.
 */
const moveAside = lines(
  ifChain([
    [
      exists('p'),
      lines(
        ifThen(
          keptExists,
          fail(1, 'file.remove: %s already holds an earlier copy; %s was left in place', KEPT, v('p')),
        ),
        raw('mkdir -p -- "$d" && mv -T -- "$p" "$d/kept" || exit 2'),
      ),
    ],
    [
      absent('d/kept'),
      lines(warn('file.remove: nothing to do: %s is absent', v('p')), say('path=%s', v('p')), raw('exit 0')),
    ],
  ]),
  say('path=%s\\nkept=%s', v('p'), KEPT),
);

/** Deletes "$p", refusing a folder. */
const deleteFile = lines(
  ifThen(
    raw('[ -d "$p" ] && [ ! -L "$p" ]'),
    fail(
      2,
      'file.remove: %s is a folder; keep: false removes files only (use keep: true to move it aside)',
      v('p'),
    ),
  ),
  raw('rm -f -- "$p"'),
);

const stillThere = ifThen(exists('p'), raw('exit 1'));

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
  intent: (p) => ({
    does: `remove ${String(p.path)}${p.keep === false ? ' for good' : ' (moved into the run folder)'}`,
    undo: p.keep === false ? 'none: the file is gone' : 'move it back, byte-identical',
  }),
  plan(p, ctx) {
    const path = withoutTrailingSlash(p.path);
    const dir = stepDir(ctx);
    const cmd = p.keep ? lines(sh`p=${path}`, sh`d=${dir}`, moveAside) : lines(sh`p=${path}`, deleteFile);
    return {
      actions: [{ type: 'exec', cmd, ...(p.keep ? { capture: { keyValues: true } } : {}) }],
      probe: {
        cmd: p.keep
          ? lines(
              sh`p=${path}`,
              sh`d=${dir}`,
              ifThen(keptExists, say('path=%s\\nkept=%s', v('p'), KEPT)),
              stillThere,
            )
          : lines(sh`p=${path}`, stillThere),
        description: `${String(path)} is absent`,
      },
    };
  },
  compensate(p, outputs) {
    const kept = recorded(outputs, 'kept');
    if (!p.keep || kept === undefined) return [];
    const path = recorded(outputs, 'path') ?? withoutTrailingSlash(p.path);
    const putBack = lines(
      sh`p=${path}`,
      sh`k=${kept}`,
      ifThen(
        absent('k'),
        fail(1, 'file.remove undo: the kept copy %s is gone; cannot put back %s', v('k'), v('p')),
      ),
      raw('mv -f -T -- "$k" "$p"'),
    );
    return [{ type: 'exec', cmd: putBack, description: 'put the removed file back' }];
  },
});
