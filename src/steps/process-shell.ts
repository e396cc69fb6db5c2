import { type Command, forIn, ifThen, indent, lines, raw, sh, whileDo } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import { fail, scriptEnv, shortSleep, v, warn } from './support.js';

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
  return lines(
    sh`pids=$(pgrep -f${userOpt} -- ${match})`,
    raw('rc=$?'),
    ifThen(raw('[ "$rc" -gt 1 ]'), fail(2, '%s: pgrep failed (exit %s) for /%s/', kind, v('rc'), match)),
    raw('hits='),
    raw('n=0'),
    forIn(
      'c',
      raw('$pids'),
      ifThen(raw('! ours "$c" && live "$c"'), lines(raw('hits="$hits $c"'), raw('n=$((n + 1))'))),
    ),
  );
}

/**
 * Sets `$hits` and `$n` from a pidfile: the pid it names, if that process is live (and run by
 * `user`). Needs PROC_FUNCTIONS. Example: `findByPidfile('/run/tomcat.pid')`.
 */
export function findByPidfile(pidfile: Word, user?: string): Command {
  const userCheck = user === undefined ? raw('') : sh` && pgrep -u ${user} | grep -qx "$c"`;
  return lines(
    sh`c=$(head -n 1 -- ${pidfile} 2>/dev/null | tr -d ' \\t\\r')`,
    raw('hits='),
    raw('n=0'),
    sh`case $c in (''|*[!0-9]*) ;; (*) if ! ours "$c" && live "$c"${userCheck}; then hits=" $c"; n=1; fi;; esac`,
  );
}

/** Shell listing `$hits` on stderr, one `pid user command` line each, e.g. ` 4242 root java -jar ecsc.jar`. */
export const LIST_HITS = raw(`for c in $hits; do ps -o pid=,user=,args= -p "$c"; done >&2`);

/**
 * Stops `"$pid"` (start time `"$st"`): sends `signal`, waits at least `graceSeconds` (whole
 * seconds of the host clock, so up to one more), then KILL (no grace with KILL), and fails if
 * it outlives KILL by 10 s. Needs PROC_FUNCTIONS. Example: `stopPid('process.stop', 'TERM', 30)`.
 */
export function stopPid(kind: string, signal: string, graceSeconds: number): Command {
  const alive = raw('alive "$pid" "$st"');
  const grace =
    signal === 'KILL'
      ? []
      : [
          waitUpTo(String(graceSeconds), alive),
          ifThen(
            alive,
            lines(
              warn(
                '%s: pid %s still runs %ss after %s; sending KILL',
                kind,
                v('pid'),
                String(graceSeconds),
                signal,
              ),
              raw('kill -s KILL "$pid" 2>/dev/null'),
            ),
          ),
        ];
  return lines(
    sh`kill -s ${signal} "$pid" 2>/dev/null`,
    ...grace,
    waitUpTo('10', alive),
    ifThen(alive, fail(1, '%s: pid %s survived SIGKILL (stuck in uninterruptible I/O?)', kind, v('pid'))),
  );
}

/** Polls a fifth of a second at a time while `cond` holds, for at most `seconds` (whole seconds of the host clock, so up to one more). */
export function waitUpTo(seconds: string, cond: Command): Command {
  return lines(
    sh`end=$(($(date +%s) + ${seconds}))`,
    whileDo(sh`${cond} && [ "$(date +%s)" -le "$end" ]`, shortSleep),
  );
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
  if (opts.script.secrets().length > 0) throw new Error('refusing to start a command holding a secret');
  // The script reaches the launcher through its environment, not its argv: a launcher whose command
  // line held the script text would match the same `process.stop` pattern as what it started.
  const launcher = `echo "$$" > "$1"; s=$CUTOVER_START; unset CUTOVER_START; eval "$s"`;
  const cmd = lines(
    sh`rm -f -- ${opts.pidFile}`,
    ...(setup ? [sh`${setup} || exit 2`] : []),
    sh`CUTOVER_START=${opts.script.render('exec')} setsid sh -c ${launcher} sh ${opts.pidFile} < /dev/null >> ${opts.log} 2>&1 &`,
  );
  return stdin === undefined ? { cmd } : { cmd, stdin };
}

/** `session_live SID [pgrep options]`: a live (non-zombie) process of session SID exists (matching the options), e.g. `session_live "$sid" -f -- java`. Needs PROC_FUNCTIONS. */
export const SESSION_LIVE: Command = lines(
  raw('session_live() {'),
  indent(
    lines(
      raw('z=$1'),
      raw('shift'),
      forIn('c', raw('$(pgrep -s "$z" "$@")'), ifThen(raw('live "$c"'), raw('return 0'))),
      raw('return 1'),
    ),
  ),
  raw('}'),
);

/**
 * Stops every live process of session `"$sid"`: TERM, then KILL after `graceSeconds`. With
 * `match`, a session running nothing that matches is left alone (its id may have been reused).
 * Needs PROC_FUNCTIONS and SESSION_LIVE. Example: `sh`sid=4242\n${PROC_FUNCTIONS}\n${SESSION_LIVE}\n${stopSession('process.start', 30)}``.
 */
export function stopSession(kind: string, graceSeconds: number, match?: string): Command {
  const live = raw('session_live "$sid"');
  const guard =
    match === undefined
      ? []
      : [
          ifThen(
            sh`! session_live "$sid" -f -- ${match}`,
            lines(
              warn('%s: session %s runs nothing matching /%s/; left alone', kind, v('sid'), match),
              raw('exit 0'),
            ),
          ),
        ];
  return lines(
    ifThen(
      sh`! ${live}`,
      lines(warn('%s: nothing of session %s runs any more', kind, v('sid')), raw('exit 0')),
    ),
    ...guard,
    raw('pkill -TERM -s "$sid"'),
    waitUpTo(String(graceSeconds), live),
    ifThen(
      live,
      lines(
        warn('%s: session %s still runs %ss after TERM; sending KILL', kind, v('sid'), String(graceSeconds)),
        raw('pkill -KILL -s "$sid"'),
      ),
    ),
    waitUpTo('10', live),
    ifThen(live, fail(1, '%s: session %s survived SIGKILL', kind, v('sid'))),
  );
}

/** Whole seconds of a grace period, rounded up. Example: `graceSeconds(1500) === 2`. */
export function graceSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
