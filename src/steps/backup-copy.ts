import { z } from 'zod';
import { all, type Command, ifThen, lines, output, raw, sh } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import { defineKind } from './kind.js';
import {
  exists,
  fail,
  recorded,
  replaceablePath,
  say,
  shown,
  stepDir,
  v,
  withoutTrailingSlash,
} from './support.js';
import { treeChecksumOf } from './tree.js';

const params = z
  .object({
    src: replaceablePath.describe(
      'absolute path of the folder (or file) to back up; the undo puts the backup back in its place',
    ),
    dest: replaceablePath.describe(
      "absolute path of the copy, usually dated: /home/ecsc_{{ host.date('%Y%m%d') }}",
    ),
    overwrite: z
      .boolean()
      .default(false)
      .describe('replace an existing dest (default false: refuse, so an older backup is never destroyed)'),
  })
  .strict()
  .refine((p) => shown(withoutTrailingSlash(p.src)) !== shown(withoutTrailingSlash(p.dest)), {
    message: 'src and dest are the same path',
    path: ['dest'],
  });

/** `$( <tree checksum of "$name"> )`: the tree sha256 of the path a shell variable holds. */
const checksum = (name: string) => output(treeChecksumOf(v(name)));

/** `s`, `b`, `d`: the path to back up, the backup, and this step's folder on the host. */
function names(src: Word, backup: Word, dir: string): Command {
  return lines(sh`s=${src}`, sh`b=${backup}`, sh`d=${dir}`);
}

const requireSource = ifThen(
  raw('[ ! -e "$s" ]'),
  fail(2, 'backup.copy: %s does not exist; nothing to back up', v('s')),
);

/**
 * An existing dest. A copy this very step wrote in an earlier attempt (recorded in its folder) and
 * never finished is its own partial copy: redone. One it finished and verified (`$d/complete` holds
 * its tree sha256) is never overwritten, by a retry, a resume or a re-run: if the source still has
 * exactly that tree the backup is used as it is, otherwise the step refuses (the source changed
 * since: copying now would put the changed data where the only copy of the old data is). Any other
 * dest is refused, or replaced with `overwrite`.
 */
function clearDest(overwrite: boolean): Command {
  const other = overwrite
    ? raw('rm -rf -- "$b" || exit 2')
    : fail(
        1,
        'backup.copy: %s already exists; a backup is never overwritten unless overwrite: true (or pick another dest)',
        v('b'),
      );
  const ownCopy = raw('[ "$(cat "$d/dest" 2>/dev/null)" = "$b" ]');
  const finished = lines(
    raw('done_sum=$(cat "$d/complete")'),
    sh`cs=${checksum('s')} || exit 2`,
    ifThen(raw('[ "$cs" = "$done_sum" ]'), lines(printOutputs, raw('exit 0'))),
    fail(
      1,
      'backup.copy: %s is the verified backup this step made earlier (tree sha256 %s), and %s has changed since (%s); a backup is never overwritten: put the old tree back first (cutover rollback), or pick another dest',
      v('b'),
      v('done_sum'),
      v('s'),
      v('cs'),
    ),
  );
  const own = ifThen(raw('[ -s "$d/complete" ]'), finished, raw('rm -rf -- "$b" || exit 2'));
  return ifThen(exists('b'), ifThen(ownCopy, own, other));
}

/** Records the dest (its date may change before an undo), copies, and sums both trees into `$cs` and `$cb`. */
const copyAndSum = sh`${all(
  raw(`printf '%s' "$b" > "$d/dest"`),
  raw('mkdir -p -- "$(dirname -- "$b")"'),
  raw('cp -a -- "$s" "$b"'),
  sh`cs=${checksum('s')}`,
  sh`cb=${checksum('b')}`,
)} || exit 2`;

const sameTrees = ifThen(
  raw('[ "$cs" != "$cb" ]'),
  fail(1, 'backup.copy: the copy %s (tree sha256 %s) differs from %s (%s)', v('b'), v('cb'), v('s'), v('cs')),
);

/** The step's outputs: what the undo needs. */
const printOutputs = say('src=%s\\ndest=%s\\nchecksum=%s', v('s'), v('b'), v('cs'));

/** The undo: copy the backup beside `$s`, verify it, swap it in, verify again. */
function restore(src: Word, backup: string, want: string): Command {
  const leftAlone = '%s was left as it is';
  return lines(
    sh`s=${src}`,
    sh`b=${backup}`,
    sh`want=${want}`,
    raw('t="$s.cutover-restore"'),
    ifThen(
      raw('[ ! -e "$b" ]'),
      fail(1, `backup.copy undo: the backup %s is gone; ${leftAlone}`, v('b'), v('s')),
    ),
    sh`${all(raw('rm -rf -- "$t"'), raw('cp -a -- "$b" "$t"'), sh`got=${checksum('t')}`)} || exit 2`,
    ifThen(
      raw('[ "$got" != "$want" ]'),
      lines(
        raw('rm -rf -- "$t"'),
        fail(
          1,
          `backup.copy undo: the backup %s has tree sha256 %s, not the recorded %s; ${leftAlone}`,
          v('b'),
          v('got'),
          v('want'),
          v('s'),
        ),
      ),
    ),
    sh`${all(raw('rm -rf -- "$s"'), raw('mv -T -- "$t" "$s"'), sh`got=${checksum('s')}`)} || exit 2`,
    ifThen(
      raw('[ "$got" != "$want" ]'),
      fail(
        1,
        'backup.copy undo: %s has tree sha256 %s after the restore, expected %s',
        v('s'),
        v('got'),
        v('want'),
      ),
    ),
    say('restored %s from %s (tree sha256 %s)', v('s'), v('b'), v('want')),
  );
}

/**
 * `backup.copy`: `cp -a src dest`, then the tree checksums of both must match. Records the
 * resolved dest (its date may change before an undo) and the checksum. The undo restores the
 * exact previous tree: copy the backup beside src, verify it, swap it in, verify again (not
 * the seed's `cp -R backup src`, which copies into an existing src).
 * Example: `{ src: '/home/ecsc', dest: "/home/ecsc_{{ host.date('%Y%m%d') }}" }`.
 */
export const backupCopy = defineKind({
  name: 'backup.copy',
  summary:
    'Copy a folder with cp -a to a (usually dated) backup and verify both tree checksums; refuses an existing dest unless overwrite. The undo restores the exact previous tree from the backup, verified.',
  params,
  intent: (p) => ({
    does: `copy ${String(p.src)} to ${String(p.dest)} (verified)`,
    undo: `restore ${String(p.src)} exactly as it was from the copy`,
  }),
  plan(p, ctx) {
    const src = withoutTrailingSlash(p.src);
    const dest = withoutTrailingSlash(p.dest);
    const cmd = lines(
      names(src, dest, stepDir(ctx)),
      requireSource,
      raw('mkdir -p -- "$d" || exit 2'),
      clearDest(p.overwrite),
      raw('rm -f -- "$d/complete"'),
      copyAndSum,
      sameTrees,
      raw(`printf '%s' "$cs" > "$d/complete" || exit 2`),
      printOutputs,
    );
    return {
      actions: [{ type: 'exec', cmd, capture: { keyValues: true }, description: 'copy and verify' }],
      probe: {
        cmd: lines(
          names(src, dest, stepDir(ctx)),
          // The dest this step recorded wins over a fresh evaluation: a dated name may have moved on since.
          ifThen(raw('[ -e "$d/dest" ]'), raw('b=$(cat "$d/dest")')),
          raw('[ -e "$b" ] || [ -L "$b" ] || exit 1'),
          sh`cs=${checksum('s')} || exit 2`,
          sh`cb=${checksum('b')} || exit 2`,
          raw('[ "$cs" = "$cb" ] || exit 1'),
          printOutputs,
        ),
        description: `${String(dest)} exists with the same tree checksum as ${String(src)}`,
      },
    };
  },
  compensate(p, outputs) {
    const backup = recorded(outputs, 'dest');
    const want = recorded(outputs, 'checksum');
    if (backup === undefined || want === undefined) return [];
    const src = recorded(outputs, 'src') ?? withoutTrailingSlash(p.src);
    return [
      {
        type: 'exec',
        cmd: restore(src, backup, want),
        description: 'restore the previous tree from the backup',
      },
    ];
  },
});
