import { z } from 'zod';
import { raw, sh } from '../shell/command.js';
import { defineKind } from './kind.js';
import { recorded, replaceablePath, shown, stepDir, withoutTrailingSlash } from './support.js';
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

const checksum = (pathVar: string) => treeChecksumOf(raw(`"$${pathVar}"`));

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
  plan(p, ctx) {
    const src = withoutTrailingSlash(p.src);
    const dest = withoutTrailingSlash(p.dest);
    const existing = p.overwrite
      ? raw(`rm -rf -- "$b" || exit 2`)
      : raw(
          `printf 'backup.copy: %s already exists; a backup is never overwritten unless overwrite: true (or pick another dest)\\n' "$b" >&2; exit 1`,
        );
    // A dest this very step wrote in an earlier attempt (recorded in its folder) is its own partial copy: redo it.
    const cmd = sh`s=${src}; b=${dest}; d=${stepDir(ctx)}; if [ ! -e "$s" ]; then printf 'backup.copy: %s does not exist; nothing to back up\\n' "$s" >&2; exit 2; fi; mkdir -p -- "$d" || exit 2; if [ -e "$b" ] || [ -L "$b" ]; then if [ "$(cat "$d/dest" 2>/dev/null)" = "$b" ]; then rm -rf -- "$b" || exit 2; else ${existing}; fi; fi; printf '%s' "$b" > "$d/dest" && mkdir -p -- "$(dirname -- "$b")" && cp -a -- "$s" "$b" && cs=$( ${checksum('s')} ) && cb=$( ${checksum('b')} ) || exit 2; if [ "$cs" != "$cb" ]; then printf 'backup.copy: the copy %s (tree sha256 %s) differs from %s (%s)\\n' "$b" "$cb" "$s" "$cs" >&2; exit 1; fi; printf 'src=%s\\ndest=%s\\nchecksum=%s\\n' "$s" "$b" "$cs"`;
    return {
      actions: [{ type: 'exec', cmd, capture: { keyValues: true }, description: 'copy and verify' }],
      probe: {
        // The dest this step recorded wins over a fresh evaluation: a dated name may have moved on since.
        cmd: sh`s=${src}; b=${dest}; d=${stepDir(ctx)}; if [ -e "$d/dest" ]; then b=$(cat "$d/dest"); fi; [ -e "$b" ] || [ -L "$b" ] || exit 1; cs=$( ${checksum('s')} ) || exit 2; cb=$( ${checksum('b')} ) || exit 2; [ "$cs" = "$cb" ] || exit 1; printf 'src=%s\\ndest=%s\\nchecksum=%s\\n' "$s" "$b" "$cs"`,
        description: `${String(dest)} exists with the same tree checksum as ${String(src)}`,
      },
    };
  },
  compensate(p, outputs) {
    const backup = recorded(outputs, 'dest');
    const want = recorded(outputs, 'checksum');
    if (backup === undefined || want === undefined) return [];
    const src = recorded(outputs, 'src') ?? withoutTrailingSlash(p.src);
    const cmd = sh`s=${src}; b=${backup}; want=${want}; t="$s.cutover-restore"; if [ ! -e "$b" ]; then printf 'backup.copy undo: the backup %s is gone; %s was left as it is\\n' "$b" "$s" >&2; exit 1; fi; rm -rf -- "$t" && cp -a -- "$b" "$t" && got=$( ${checksum('t')} ) || exit 2; if [ "$got" != "$want" ]; then rm -rf -- "$t"; printf 'backup.copy undo: the backup %s has tree sha256 %s, not the recorded %s; %s was left as it is\\n' "$b" "$got" "$want" "$s" >&2; exit 1; fi; rm -rf -- "$s" && mv -T -- "$t" "$s" && got=$( ${checksum('s')} ) || exit 2; if [ "$got" != "$want" ]; then printf 'backup.copy undo: %s has tree sha256 %s after the restore, expected %s\\n' "$s" "$got" "$want" >&2; exit 1; fi; printf 'restored %s from %s (tree sha256 %s)\\n' "$s" "$b" "$want"`;
    return [{ type: 'exec', cmd, description: 'restore the previous tree from the backup' }];
  },
});
