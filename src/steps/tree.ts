import { type Command, ifThen, lines, raw, sh, subshell } from '../shell/command.js';
import { absent, fail, say, v } from './support.js';
import type { Word } from '../shell/word.js';

/**
 * Shell printing one sha256 over the tree at `path` (a directory, a file or a symlink): every
 * entry's relative name, type, permission bits and symlink target, then every regular file's
 * content, each list in C-locale byte order, so two trees with the same content and layout
 * give the same hash whatever their location or directory order. Owners and times are not
 * covered. Exits 2 with a message when the path is missing or anything could not be read.
 * Example: `treeChecksum('/home/ecsc')` prints `3b1f...` (64 hex digits).
 */
export function treeChecksum(path: Word): Command {
  return treeChecksumOf(sh`${path}`);
}

/**
 * The same, for a path held in a shell expression of the enclosing script (e.g. `"$b"`), so a
 * path with a host date is evaluated once. Runs in a subshell: use it as `$( ${cmd} )`.
 */
export function treeChecksumOf(pathExpr: Command): Command {
  return subshell(
    lines(
      sh`p=${pathExpr}`,
      ifThen(absent('p'), fail(2, '%s: no such file or directory', v('p'))),
      sh`r=$( { { ${LISTING}; ${CONTENTS}; } | sha256sum | cut -c 1-64; } 2>&1 )`,
      LENGTH,
      ifThen(raw('[ "$n" != 64 ]'), fail(2, 'cannot checksum %s: %s', v('p'), v('r'))),
      say('%s', v('r')),
    ),
  );
}

/** Every entry under "$p": its relative name, type, permission bits and symlink target, NUL-separated, in byte order. */
const LISTING = raw(`LC_ALL=C find "$p" -printf '%P//%y %m %l\\0' | LC_ALL=C sort -z`);

/** The sha256 of every regular file under "$p", in byte order of their names. */
const CONTENTS = raw(
  `LC_ALL=C find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | cut -d ' ' -f 1`,
);

// POSIX sh has no pipefail: stderr of every stage is captured with the hash, and anything but a
// lone hash (a complaint from find, sort, sha256sum...) fails the checksum.
/** `$n`: the length of "$r" when it is all hex digits, else 0. */
const LENGTH = raw(`case $r in (*[!0-9a-f]*) n=0;; (*) n=\${#r};; esac`);
