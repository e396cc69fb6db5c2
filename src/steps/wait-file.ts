import { z } from 'zod';
import { type Command, lines, sh } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import { defineKind } from './kind.js';
import { hostPath } from './support.js';

const params = z
  .object({
    path: hostPath.describe('absolute path on the host, e.g. /var/lib/comindware/cmw/Database/hold.lock'),
    state: z.enum(['present', 'absent']).describe('wait until the path exists (present) or is gone (absent)'),
  })
  .strict();

/** The longest one check blocks on the host in inotifywait before it answers "not yet". */
export const FILE_WATCH_CAP_SEC = 5;

/** `held`: a shell function, true when the path is in the awaited state (`test -e`). */
function heldFunction(path: Word, state: 'present' | 'absent'): Command {
  return state === 'present'
    ? sh`p=${path}; held() { [ -e "$p" ]; }`
    : sh`p=${path}; held() { ! [ -e "$p" ]; }`;
}

/**
 * Blocks until an entry of the path's folder changes (inotifywait, for `capSec` at most), then
 * returns; the state is checked again once the watch is set up, so a change made meanwhile is not
 * missed. `$how` says whether it could (`inotifywait`) or the host lacks inotifywait, timeout or
 * the folder (`polled`).
 */
function watchFolder(capSec: number): Command {
  return lines(
    sh`how=polled`,
    sh`if command -v inotifywait >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1 && t=$(mktemp -d 2>/dev/null); then
  if mkfifo "$t/e"; then
    d=\${p%/*}
    timeout --foreground ${String(capSec)} inotifywait -m -e create,moved_to,delete,moved_from,delete_self,move_self -- "\${d:-/}" >"$t/e" 2>&1 &
    w=$!
    while IFS= read -r l; do
      case $l in
        'Watches established.') how=inotifywait; held && break ;;
        *) [ "$how" = inotifywait ] && held && break ;;
      esac
    done <"$t/e"
    kill "$w" 2>/dev/null
    wait "$w" 2>/dev/null
  fi
  rm -rf "$t"
fi`,
  );
}

/**
 * The check of one round of `wait.file`: exit 0 when the path is in the awaited state; else the
 * host waits for its folder to change (inotifywait, up to `capSec`) and checks again, and the
 * last line says how it waited (`waited: inotifywait`, or `waited: polled` on a host without it:
 * the controller then asks again after a short pause). Example: `fileWaitCommand('/var/lib/cmw/hold.lock', 'absent', 5)`.
 */
export function fileWaitCommand(path: Word, state: 'present' | 'absent', capSec: number): Command {
  return lines(
    heldFunction(path, state),
    sh`held && exit 0`,
    watchFolder(capSec),
    sh`held && exit 0`,
    sh`echo "waited: $how"`,
    sh`exit 1`,
  );
}

/**
 * `wait.file`: waits until a path exists or is gone on the host. The host watches the folder
 * (inotifywait) and answers as the path changes; a host without inotifywait is asked every 100 ms.
 * Example: `{ path: '/var/lib/comindware/cmw/Database/hold.lock', state: 'present' }`.
 */
export const waitFile = defineKind({
  name: 'wait.file',
  summary:
    'Wait until a path on the host exists (present) or is gone (absent); the host watches its folder with inotifywait where it has it, else it is asked every 100 ms.',
  params,
  intent: (p) => ({ does: `wait until ${String(p.path)} is ${p.state}` }),
  readOnly: true,
  plan(p) {
    const cmd = fileWaitCommand(p.path, p.state, FILE_WATCH_CAP_SEC);
    const description = `${String(p.path)} to ${p.state === 'present' ? 'exist' : 'be gone'}`;
    return {
      actions: [
        {
          type: 'wait',
          condition: { kind: 'command', cmd, description, hostWaits: { capSec: FILE_WATCH_CAP_SEC } },
        },
      ],
    };
  },
});
