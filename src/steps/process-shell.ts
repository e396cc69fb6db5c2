import { type Command, raw, sh, shc } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import { scriptEnv, shortSleep } from './support.js';

/**
 * Shell fragments shared by `process.stop` and `process.start`: reading /proc, finding
 * processes without ever matching the finding shell itself, stopping a pid with a grace
 * period, launching detached, and stopping a whole session. POSIX sh + procps (pgrep).
 */

/**
 * Functions over /proc (`$s` holds the stat fields after the command name, so `$1` is the
 * state, `$2` the parent pid and `${20}` the start time):
 * - `live PID`: the process exists and is not a zombie (an unreaped dead process);
 * - `alive PID START`: the same process is still running (a reused pid has another start time);
 * - `start_of PID`: prints its start time;
 * - `ours PID`: PID is this shell, one of its ancestors (whose command line may hold the very
 *   pattern being searched) or one of its descendants (the `$(...)` subshells).
 * Then `$anc` is filled with this shell's ancestors. Example: `sh`${PROC_FUNCTIONS}\nlive 1 && echo up``.
 */
export const PROC_FUNCTIONS: Command = raw(
  [
    `stat_of() { [ -r "/proc/$1/stat" ] && read -r s 2>/dev/null < "/proc/$1/stat" && s=\${s##*") "}; }`,
    `live() { stat_of "$1" && set -- $s && [ "$1" != Z ]; }`,
    `alive() { t=$2; stat_of "$1" && set -- $s && [ "$1" != Z ] && [ "\${20}" = "$t" ]; }`,
    `start_of() { stat_of "$1" && set -- $s && echo "\${20}"; }`,
    `ours() { case $anc in (*" $1 "*) return 0;; esac; q=$1; while stat_of "$q"; do set -- $s; q=$2; [ "$q" = "$$" ] && return 0; done; return 1; }`,
    `anc=" "; q=$$; while stat_of "$q"; do anc="$anc$q "; set -- $s; q=$2; done`,
  ].join('\n'),
);

/**
 * Sets `$hits` (space-separated pids) and `$n` to the live processes whose full command line
 * matches `match` (a POSIX ERE, `pgrep -f`), optionally run by `user`, never counting this shell's
 * own family. Needs PROC_FUNCTIONS. Example: `findByMatch('process.stop', 'java .*ecsc')`.
 */
export function findByMatch(kind: string, match: string, user?: string): Command {
  const userOpt = user === undefined ? raw('') : sh` -u ${user}`;
  return sh`pids=$(pgrep -f${userOpt} -- ${match}); rc=$?; if [ "$rc" -gt 1 ]; then printf '%s: pgrep failed (exit %s) for /%s/\\n' ${kind} "$rc" ${match} >&2; exit 2; fi; hits=; n=0; for c in $pids; do if ! ours "$c" && live "$c"; then hits="$hits $c"; n=$((n + 1)); fi; done`;
}

/**
 * Sets `$hits` and `$n` from a pidfile: the pid it names, if that process is live (and run by
 * `user`). Needs PROC_FUNCTIONS. Example: `findByPidfile('/run/tomcat.pid')`.
 */
export function findByPidfile(pidfile: Word, user?: string): Command {
  const userCheck = user === undefined ? raw('') : sh` && pgrep -u ${user} | grep -qx "$c"`;
  return sh`c=$(head -n 1 -- ${pidfile} 2>/dev/null | tr -d ' \\t\\r'); hits=; n=0; case $c in (''|*[!0-9]*) ;; (*) if ! ours "$c" && live "$c"${userCheck}; then hits=" $c"; n=1; fi;; esac`;
}

/** Shell listing `$hits` on stderr, one `pid user command` line each, e.g. ` 4242 root java -jar ecsc.jar`. */
export const LIST_HITS = raw(`for c in $hits; do ps -o pid=,user=,args= -p "$c"; done >&2`);

/**
 * Stops `"$pid"` (start time `"$st"`): sends `signal`, waits at least `graceSeconds` (whole
 * seconds of the host clock, so up to one more), then KILL (no grace with KILL), and fails if
 * it outlives KILL by 10 s. Needs PROC_FUNCTIONS. Example: `stopPid('process.stop', 'TERM', 30)`.
 */
export function stopPid(kind: string, signal: string, graceSeconds: number): Command {
  const grace =
    signal === 'KILL'
      ? raw('')
      : sh`end=$(($(date +%s) + ${String(graceSeconds)})); while alive "$pid" "$st" && [ "$(date +%s)" -le "$end" ]; do ${shortSleep}; done; if alive "$pid" "$st"; then printf '%s: pid %s still runs %ss after %s; sending KILL\\n' ${kind} "$pid" ${String(graceSeconds)} ${signal} >&2; kill -s KILL "$pid" 2>/dev/null; fi; `;
  return sh`kill -s ${signal} "$pid" 2>/dev/null; ${grace}end=$(($(date +%s) + 10)); while alive "$pid" "$st" && [ "$(date +%s)" -le "$end" ]; do ${shortSleep}; done; if alive "$pid" "$st"; then printf '%s: pid %s survived SIGKILL (stuck in uninterruptible I/O?)\\n' ${kind} "$pid" >&2; exit 1; fi`;
}

/**
 * Starts `script` detached so it survives the SSH session: own session (`setsid`), stdin from
 * /dev/null, output appended to `log`. The session leader writes its pid (= the session id) to
 * `pidFile`. cwd and env are set up in the foreground (a background list gets no stdin for secrets).
 * Example: `launchDetached({ script: sh`sh startup.sh`, cwd: '/home/schedule', log: '/dev/null', pidFile: '/var/tmp/x/pid' })`.
 */
export function launchDetached(opts: {
  script: Command;
  cwd?: Word | undefined;
  env?: Readonly<Record<string, Word>> | undefined;
  log: Word;
  pidFile: string;
}): { cmd: Command; stdin?: Word } {
  const { setup, stdin } = scriptEnv({ cwd: opts.cwd, env: opts.env });
  const inner = sh`echo "$$" > ${opts.pidFile}; ${opts.script}`;
  const first = setup ? sh`${setup} || exit 2; ` : raw('');
  const cmd = sh`rm -f -- ${opts.pidFile}; ${first}setsid ${shc(inner)} < /dev/null >> ${opts.log} 2>&1 &`;
  return stdin === undefined ? { cmd } : { cmd, stdin };
}

/** `session_live SID [pgrep options]`: a live (non-zombie) process of session SID exists (matching the options), e.g. `session_live "$sid" -f -- java`. Needs PROC_FUNCTIONS. */
export const SESSION_LIVE: Command = raw(
  `session_live() { z=$1; shift; for c in $(pgrep -s "$z" "$@"); do if live "$c"; then return 0; fi; done; return 1; }`,
);

/**
 * Stops every live process of session `"$sid"`: TERM, then KILL after `graceSeconds`. With
 * `match`, a session running nothing that matches is left alone (its id may have been reused).
 * Needs PROC_FUNCTIONS and SESSION_LIVE. Example: `sh`sid=4242\n${PROC_FUNCTIONS}\n${SESSION_LIVE}\n${stopSession('process.start', 30)}``.
 */
export function stopSession(kind: string, graceSeconds: number, match?: string): Command {
  const guard =
    match === undefined
      ? raw('')
      : sh`if ! session_live "$sid" -f -- ${match}; then printf '%s: session %s runs nothing matching /%s/; left alone\\n' ${kind} "$sid" ${match} >&2; exit 0; fi; `;
  return sh`if ! session_live "$sid"; then printf '%s: nothing of session %s runs any more\\n' ${kind} "$sid" >&2; exit 0; fi; ${guard}pkill -TERM -s "$sid"; end=$(($(date +%s) + ${String(graceSeconds)})); while session_live "$sid" && [ "$(date +%s)" -le "$end" ]; do ${shortSleep}; done; if session_live "$sid"; then printf '%s: session %s still runs %ss after TERM; sending KILL\\n' ${kind} "$sid" ${String(graceSeconds)} >&2; pkill -KILL -s "$sid"; fi; end=$(($(date +%s) + 10)); while session_live "$sid" && [ "$(date +%s)" -le "$end" ]; do ${shortSleep}; done; if session_live "$sid"; then printf '%s: session %s survived SIGKILL\\n' ${kind} "$sid" >&2; exit 1; fi`;
}

/** Whole seconds of a grace period, rounded up. Example: `graceSeconds(1500) === 2`. */
export function graceSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
