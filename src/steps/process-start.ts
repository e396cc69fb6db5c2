import { firstLine } from './kind.js';
import { z } from 'zod';
import { type Command, ifThen, lines, raw, script, sh, whileDo } from '../shell/command.js';
import { defineKind } from './kind.js';
import { duration, scriptText } from './params.js';
import {
  findByMatch,
  graceSeconds,
  LIST_HITS,
  launchDetached,
  PROC_FUNCTIONS,
  SESSION_LIVE,
  stopSession,
} from './process-shell.js';
import {
  envVars,
  fail,
  holdsSecret,
  hostPath,
  hostRegex,
  recorded,
  say,
  stepDir,
  v,
  warn,
} from './support.js';

const KIND = 'process.start';

const params = z
  .object({
    // The bare `scriptText` schema: compile recognises script fields by identity (see shell.run).
    command: scriptText,
    cwd: hostPath.optional().describe('absolute folder to start it in'),
    log: hostPath
      .optional()
      .describe('absolute path of the file that gets its stdout and stderr, appended (default /dev/null)'),
    env: envVars
      .optional()
      .describe('environment variables; values holding secrets are passed on stdin, never in argv'),
    match: hostRegex
      .optional()
      .describe(
        'POSIX extended regex over full command lines that recognises it running: the probe, the "already running" check (then nothing is started: never a second instance), and a guard for the undo',
      ),
    grace: duration
      .prefault('30s')
      .describe('for the undo: how long to wait after TERM before KILL (default 30s)'),
  })
  .strict()
  .refine((p) => !holdsSecret(p.command), {
    message: 'must not hold a secret: it would be visible in the process list; pass secrets through env',
    path: ['command'],
  });

type Params = z.output<typeof params>;

/** Prints the pid the step recorded (`pid=`), which is also the session id. */
const PRINT_PID = say('pid=%s', raw('"$(cat "$d/pid")"'));

function probe(p: Params, dir: string): { cmd: Command; description: string } {
  if (p.match !== undefined) {
    return {
      cmd: lines(
        sh`d=${dir}`,
        ifThen(raw('[ -s "$d/pid" ]'), PRINT_PID),
        PROC_FUNCTIONS,
        findByMatch(KIND, p.match),
        raw('[ "$n" -ge 1 ]'),
      ),
      description: `a process matching /${p.match}/ runs`,
    };
  }
  return {
    cmd: lines(
      sh`d=${dir}`,
      raw('[ -s "$d/pid" ] || exit 1'),
      raw('sid=$(cat "$d/pid")'),
      say('pid=%s', v('sid')),
      PROC_FUNCTIONS,
      SESSION_LIVE,
      raw('session_live "$sid"'),
    ),
    description: 'the process this step started still runs',
  };
}

/**
 * `process.start`: starts a command detached from the SSH session (`setsid`, stdin from
 * /dev/null, output appended to `log`) and records its pid, which is also its session id. A
 * retry does not start a second one; with `match`, an instance already running makes the step done
 * (nothing started, nothing for the undo to stop).
 * The undo stops the whole session: TERM, then KILL after the grace.
 * Example: `{ command: 'nohup sh startup.sh', cwd: '/home/schedule', log: '/home/schedulelog/nohup.out', match: 'java .*schedule' }`.
 */
export const processStart = defineKind({
  name: KIND,
  summary:
    'Start a command detached so it survives the SSH session (setsid, stdin /dev/null, output appended to log) and record its pid; with match, a process already running is the step done (never a second instance, and the undo leaves it alone). The undo stops what it started (TERM, then KILL after the grace).',
  params,
  intent: (p) => ({ does: `start ${firstLine(p.command)} detached`, undo: 'stop what it started' }),
  plan(p, ctx) {
    const dir = stepDir(ctx);
    const pidFile = `${dir}/pid`;
    const { cmd: launch, stdin } = launchDetached({
      script: script(p.command),
      cwd: p.cwd,
      env: p.env,
      log: p.log ?? '/dev/null',
      pidFile,
    });
    const running =
      p.match === undefined
        ? []
        : [
            findByMatch(KIND, p.match),
            // Already running (started by something else, or before this run): done, never a second
            // instance; `pid=` empty and no pid file, so the undo stops nothing it did not start.
            ifThen(
              raw('[ "$n" -gt 0 ]'),
              lines(
                raw('rm -f -- "$d/pid"'),
                LIST_HITS,
                warn(
                  '%s: nothing to do: already running (pid%s matches /%s/); not starting a second instance, and the undo will not stop it',
                  KIND,
                  v('hits'),
                  p.match,
                ),
                say('pid=\\nrunning=%s', raw(`"\${hits# }"`)),
                raw('exit 0'),
              ),
            ),
          ];
    const startedBefore = ifThen(
      raw('[ -s "$d/pid" ] && session_live "$(cat "$d/pid")"'),
      lines(
        warn('%s: nothing to do: an earlier attempt started it (pid %s)', KIND, raw('"$(cat "$d/pid")"')),
        PRINT_PID,
        raw('exit 0'),
      ),
    );
    /** The launched shell writes its pid; 5 s at most. */
    const waitForPid = lines(
      raw('i=0'),
      whileDo(
        raw('[ ! -s "$d/pid" ] && [ "$i" -lt 50 ]'),
        lines(raw('sleep 0.1 2>/dev/null || sleep 1'), raw('i=$((i + 1))')),
      ),
      ifThen(raw('[ ! -s "$d/pid" ]'), fail(1, '%s: the command did not start within 5s', KIND)),
    );
    const cmd = lines(
      sh`d=${dir}`,
      raw('mkdir -p -- "$d" || exit 2'),
      PROC_FUNCTIONS,
      SESSION_LIVE,
      startedBefore,
      ...running,
      launch,
      waitForPid,
      PRINT_PID,
    );
    return {
      actions: [
        {
          type: 'exec',
          cmd: stdin === undefined ? cmd : cmd.withStdin(stdin),
          capture: { keyValues: true },
          description: 'start detached',
        },
      ],
      probe: probe(p, dir),
    };
  },
  compensate(p, outputs, ctx) {
    // It found the process already running and started nothing.
    if (outputs.pid === '' && recorded(outputs, 'running') !== undefined) return [];
    const pid = recorded(outputs, 'pid');
    // Without a recorded pid (the step failed before recording it) the pid file in the step folder decides.
    const sid =
      pid !== undefined
        ? sh`sid=${pid}`
        : lines(
            sh`sid=$(cat ${`${stepDir(ctx)}/pid`} 2>/dev/null)`,
            ifThen(
              raw('[ -z "$sid" ]'),
              lines(warn('%s undo: this step started nothing', KIND), raw('exit 0')),
            ),
          );
    return [
      {
        type: 'exec',
        cmd: lines(sid, PROC_FUNCTIONS, SESSION_LIVE, stopSession(KIND, graceSeconds(p.grace), p.match)),
        description: 'stop what it started',
      },
    ];
  },
});
