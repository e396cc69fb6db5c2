import { firstLine } from './kind.js';
import { z } from 'zod';
import { type Command, ifChain, ifThen, lines, raw, script, sh } from '../shell/command.js';
import { concat } from '../shell/word.js';
import { type Action, defineKind } from './kind.js';
import { duration, scriptText, signal } from './params.js';
import {
  findByMatch,
  findByPidfile,
  graceSeconds,
  LIST_HITS,
  launchDetached,
  PROC_FUNCTIONS,
  stopPid,
  waitUpTo,
} from './process-shell.js';
import { fail, hostPath, hostRegex, say, stepDir, v, warn } from './support.js';

const KIND = 'process.stop';

const params = z
  .object({
    pidfile: hostPath.optional().describe('absolute path of a file holding the pid (give this or match)'),
    match: hostRegex
      .optional()
      .describe(
        'POSIX extended regex matched against the full command line (pgrep -f); it must match exactly one process (give this or pidfile)',
      ),
    user: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, 'expected a user name or uid')
      .optional()
      .describe('only processes run by this user (effective user)'),
    signal: signal
      .prefault('TERM')
      .describe('first signal: TERM (default), INT, HUP, QUIT, KILL, ... or its number'),
    grace: duration
      .prefault('30s')
      .describe('how long to wait after the first signal before KILL (default 30s; none with KILL)'),
    missingOk: z
      .boolean()
      .default(false)
      .describe('succeed when no process matches (default false: that is an error)'),
    restart: scriptText
      .optional()
      .describe(
        "how to start it again, e.g. '/home/apache-tomcat-7.0.67/bin/startup.sh': the compensation runs it detached",
      ),
    cwd: hostPath.optional().describe('absolute folder to run the restart script in'),
  })
  .strict()
  .refine((p) => (p.pidfile === undefined) !== (p.match === undefined), {
    message: 'give exactly one of pidfile and match',
    path: ['match'],
  });

type Params = z.output<typeof params>;

function finder(p: Params): Command {
  return p.match !== undefined ? findByMatch(KIND, p.match, p.user) : findByPidfile(p.pidfile!, p.user);
}

/** How the plan and messages name the selection: `/java .*ecsc/ (user ecsc)` or `the pid in /run/x.pid`. */
function selection(p: Params) {
  const who = p.user === undefined ? '' : ` run by ${p.user}`;
  return p.match !== undefined ? `/${p.match}/${who}` : concat('the pid in ', p.pidfile!, who);
}

/** Prints the step's record (`pid=`, `command=`) from its folder. */
const PRINT_RECORD = say('pid=%s\\ncommand=%s', raw('"$(cat "$d/pid")"'), raw('"$(cat "$d/command")"'));

/**
 * `process.stop`: finds exactly one process by pidfile or by a regex over full command lines
 * (never the finding shell or its family; zero or several matches are refused, listing them),
 * records its pid and command line, sends the signal, waits out the grace, then KILL.
 * Example: `{ match: 'java .*-Dcatalina.base=/home/apache-tomcat-7.0.67', signal: 'KILL', restart: '/home/apache-tomcat-7.0.67/bin/startup.sh' }`.
 */
/**
 * After the one process is gone: nothing else may still match (a supervisor restarting it, a
 * second instance started meanwhile). Whatever still matches after 10 s more fails the step,
 * listed, with the reason as the last line.
 */
function stillMatching(p: Params): Command {
  const how = p.signal === 'KILL' ? 'KILL' : `${p.signal}, then KILL after ${graceSeconds(p.grace)} s`;
  return lines(
    raw('stopped=$pid'),
    raw('still() {'),
    finder(p),
    raw('[ "$n" -gt 0 ]'),
    raw('}'),
    waitUpTo('10', raw('still')),
    ifThen(
      raw('still'),
      lines(
        warn('%s: the processes matching %s:', KIND, selection(p)),
        LIST_HITS,
        fail(
          1,
          '%s: %s process(es) still match %s after pid %s was stopped (%s): pids%s; something starts it again (a supervisor, a service unit?): stop that instead, or make the match more specific',
          KIND,
          v('n'),
          selection(p),
          v('stopped'),
          how,
          v('hits'),
        ),
      ),
    ),
  );
}

export const processStop = defineKind({
  name: KIND,
  summary:
    'Stop exactly one process found by pidfile or by a regex over full command lines (0 or several matches are refused and listed; never matches its own shell): signal, wait out the grace, then KILL. The undo runs `restart` detached.',
  params,
  intent: (p) => ({
    does: `stop the process ${p.pidfile ? `in ${String(p.pidfile)}` : `matching /${String(p.match)}/`} (${String(p.signal)}, then KILL)`,
    undo: p.restart ? `start it again: ${firstLine(p.restart)}` : 'none (no restart given)',
  }),
  plan(p, ctx) {
    const what = selection(p);
    const missing = p.missingOk
      ? lines(warn('%s: nothing to do: no process matches %s', KIND, what), raw('echo pid='), raw('exit 0'))
      : fail(
          1,
          '%s: no process matches %s; expected exactly one (set missingOk: true when it may already be stopped)',
          KIND,
          what,
        );
    // The listing first, the reason last: a failed step's message is its last line on stderr.
    const tooMany = lines(
      warn('%s: the processes matching %s:', KIND, what),
      LIST_HITS,
      fail(
        1,
        '%s: %s processes match %s, expected exactly one (pids%s): make the match more specific (e.g. add the application folder to it) or use a pidfile',
        KIND,
        v('n'),
        what,
        v('hits'),
      ),
    );
    /** The one match becomes the step's process; the first attempt's record is kept. */
    const takeIt = lines(
      raw(`pid=\${hits# }`),
      raw('st=$(start_of "$pid")'),
      ifThen(
        raw('[ ! -s "$d/pid" ]'),
        lines(
          raw('ps -o args= -p "$pid" > "$d/command"'),
          raw(`printf '%s\\n' "$st" > "$d/start"`),
          raw(`printf '%s\\n' "$pid" > "$d/pid"`),
        ),
      ),
    );
    const cmd = lines(
      sh`d=${stepDir(ctx)}`,
      raw('mkdir -p -- "$d" || exit 2'),
      PROC_FUNCTIONS,
      // A retry or resume continues with the process recorded by the first attempt, and a process
      // that attempt already stopped counts as stopped.
      raw('pid='),
      raw('st='),
      ifThen(
        raw('[ -s "$d/pid" ]'),
        lines(raw('pid=$(cat "$d/pid")'), raw('st=$(cat "$d/start")'), raw('alive "$pid" "$st" || pid=')),
      ),
      ifThen(
        raw('[ -z "$pid" ]'),
        lines(
          finder(p),
          ifThen(raw('[ "$n" -gt 1 ]'), tooMany),
          ifChain([
            [raw('[ "$n" -eq 1 ]'), takeIt],
            [raw('[ ! -s "$d/pid" ]'), missing],
          ]),
        ),
      ),
      PRINT_RECORD,
      ifThen(
        raw('[ -n "$pid" ]'),
        lines(
          stopPid(KIND, p.signal, graceSeconds(p.grace)),
          ...(p.match !== undefined ? [stillMatching(p)] : []),
        ),
      ),
    );
    return {
      actions: [{ type: 'exec', cmd, capture: { keyValues: true }, description: `stop ${String(what)}` }],
      probe: {
        cmd: lines(
          sh`d=${stepDir(ctx)}`,
          ifThen(raw('[ -s "$d/pid" ]'), PRINT_RECORD),
          PROC_FUNCTIONS,
          finder(p),
          raw('[ "$n" -eq 0 ] || exit 1'),
        ),
        description: `no process matches ${String(what)}`,
      },
    };
  },
  compensate(p, outputs, ctx) {
    const pid = outputs.pid;
    // pid '' = nothing was stopped (missingOk). No pid at all = the step failed before recording
    // outputs (e.g. timed out while the process was dying): then the host's step folder decides.
    if (p.restart === undefined || pid === '') return [];
    const dir = stepDir(ctx);
    const log = `${dir}/restart.log`;
    const { cmd: launch } = launchDetached({
      script: script(p.restart),
      cwd: p.cwd,
      log,
      pidFile: `${dir}/restart.pid`,
    });
    const known = pid !== undefined;
    const stoppedNothing = known
      ? []
      : [
          ifThen(
            raw('[ ! -s "$d/pid" ]'),
            lines(
              raw(`echo 'process.stop undo: this step stopped nothing; nothing to start' >&2`),
              raw('exit 0'),
            ),
          ),
        ];
    const cmd = lines(
      sh`d=${dir}`,
      ...stoppedNothing,
      PROC_FUNCTIONS,
      finder(p),
      ifThen(
        raw('[ "$n" -ge 1 ]'),
        lines(
          warn('%s undo: it already runs again (pid%s); not starting another', KIND, v('hits')),
          raw('exit 0'),
        ),
      ),
      launch,
    );
    const running: Action = {
      type: 'wait',
      condition: {
        kind: 'command',
        cmd: lines(
          sh`d=${dir}`,
          ...(known ? [] : [ifThen(raw('[ ! -s "$d/pid" ]'), raw('exit 0'))]),
          PROC_FUNCTIONS,
          finder(p),
          sh`tail -n 2 ${log} 2>/dev/null`,
          raw('echo "$n running"'),
          raw('[ "$n" -ge 1 ]'),
        ),
        description: `${String(selection(p))} to run again`,
      },
    };
    return [{ type: 'exec', cmd, description: 'start it again (detached)' }, running];
  },
});
