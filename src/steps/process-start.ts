import { z } from 'zod';
import { type Command, raw, script, sh } from '../shell/command.js';
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
import { envVars, holdsSecret, hostPath, hostRegex, recorded, stepDir } from './support.js';

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
        'POSIX extended regex over full command lines that recognises it running: the probe, a refusal to start a second instance, and a guard for the undo',
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

function probe(p: Params, dir: string): { cmd: Command; description: string } {
  if (p.match !== undefined) {
    return {
      cmd: sh`d=${dir}; if [ -s "$d/pid" ]; then printf 'pid=%s\\n' "$(cat "$d/pid")"; fi
${PROC_FUNCTIONS}
${findByMatch(KIND, p.match)}; [ "$n" -ge 1 ]`,
      description: `a process matching /${p.match}/ runs`,
    };
  }
  return {
    cmd: sh`d=${dir}; [ -s "$d/pid" ] || exit 1; sid=$(cat "$d/pid"); printf 'pid=%s\\n' "$sid"
${PROC_FUNCTIONS}
${SESSION_LIVE}
session_live "$sid"`,
    description: 'the process this step started still runs',
  };
}

/**
 * `process.start`: starts a command detached from the SSH session (`setsid`, stdin from
 * /dev/null, output appended to `log`) and records its pid, which is also its session id. A
 * retry does not start a second one; with `match`, an already running instance is refused.
 * The undo stops the whole session: TERM, then KILL after the grace.
 * Example: `{ command: 'nohup sh startup.sh', cwd: '/home/schedule', log: '/home/schedulelog/nohup.out', match: 'java .*schedule' }`.
 */
export const processStart = defineKind({
  name: KIND,
  summary:
    'Start a command detached so it survives the SSH session (setsid, stdin /dev/null, output appended to log) and record its pid; with match, refuses to start a second instance. The undo stops what it started (TERM, then KILL after the grace).',
  params,
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
        ? raw('')
        : sh`${findByMatch(KIND, p.match)}; if [ "$n" -gt 0 ]; then printf '%s: %s process(es) already match /%s/; stop them first (process.stop), or this would start a second instance:\\n' ${KIND} "$n" ${p.match} >&2; ${LIST_HITS}; exit 1; fi\n`;
    const cmd = sh`d=${dir}; mkdir -p -- "$d" || exit 2
${PROC_FUNCTIONS}
${SESSION_LIVE}
if [ -s "$d/pid" ] && session_live "$(cat "$d/pid")"; then printf '%s: nothing to do: an earlier attempt started it (pid %s)\\n' ${KIND} "$(cat "$d/pid")" >&2; printf 'pid=%s\\n' "$(cat "$d/pid")"; exit 0; fi
${running}${launch}
i=0; while [ ! -s "$d/pid" ] && [ "$i" -lt 50 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done; if [ ! -s "$d/pid" ]; then printf '%s: the command did not start within 5s\\n' ${KIND} >&2; exit 1; fi; printf 'pid=%s\\n' "$(cat "$d/pid")"`;
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
    const pid = recorded(outputs, 'pid');
    // Without a recorded pid (the step failed before recording it) the pid file in the step folder decides.
    const sid =
      pid !== undefined
        ? sh`sid=${pid}`
        : sh`sid=$(cat ${`${stepDir(ctx)}/pid`} 2>/dev/null); if [ -z "$sid" ]; then printf '%s undo: this step started nothing\\n' ${KIND} >&2; exit 0; fi`;
    return [
      {
        type: 'exec',
        cmd: sh`${sid}
${PROC_FUNCTIONS}
${SESSION_LIVE}
${stopSession(KIND, graceSeconds(p.grace), p.match)}`,
        description: 'stop what it started',
      },
    ];
  },
});
