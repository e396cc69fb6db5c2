import { z } from 'zod';
import { script, sh } from '../shell/command.js';
import { defineKind, firstLine } from './kind.js';
import { positiveDuration, scriptText } from './params.js';
import { hostPath, jsRegex } from './support.js';

const params = z
  .object({
    // The bare `scriptText` schema: compile recognises script fields by identity (see shell.run).
    command: scriptText,
    cwd: hostPath.optional().describe('absolute directory to run the command in'),
    output: jsRegex
      .optional()
      .describe(
        'regex (JavaScript syntax) its stdout must match, final line breaks dropped, e.g. ^0$ for "until it prints 0"',
      ),
    any_exit: z
      .boolean()
      .default(false)
      .describe(
        'with output: the output alone decides, whatever the exit status (grep -c prints 0 and exits 1); default false: it must also exit 0',
      ),
    interval: positiveDuration
      .prefault('5s')
      .describe('time between two runs of the command (default 5s); the step timeout ends the wait'),
  })
  .strict()
  .refine((p) => !(p.any_exit && p.output === undefined), {
    message: 'any_exit needs output: without an output pattern the exit status is all there is to wait for',
    path: ['any_exit'],
  });

/**
 * `wait.command`: runs a read-only command on the host every `interval` until it exits 0 (and, with
 * `output`, its stdout matches), within the step's timeout; on timeout the last lines it printed
 * are shown. Example: `{ command: 'kafka-topics.sh --describe --under-replicated-partitions --bootstrap-server localhost:9092 | wc -l', output: '^0$', interval: '30s' }`.
 */
export const waitCommand = defineKind({
  name: 'wait.command',
  summary:
    'Run a read-only command on the host every interval (default 5s) until it exits 0 and, if given, its stdout matches a regex; the step timeout ends the wait and shows the last lines it printed.',
  params,
  intent: (p) => ({
    does: `wait until ${firstLine(p.command)} ${p.output !== undefined ? `prints /${p.output}/` : 'succeeds'}`,
  }),
  readOnly: true,
  plan(p) {
    const body = script(p.command);
    const cmd = p.cwd === undefined ? body : sh`cd ${p.cwd} && {\n${body}\n}`;
    const description =
      p.output === undefined
        ? `${firstLine(p.command)} to exit 0`
        : `${firstLine(p.command)} to print /${p.output}/${p.any_exit ? '' : ' and exit 0'}`;
    return {
      actions: [
        {
          type: 'wait',
          condition: {
            kind: 'command',
            cmd,
            description,
            ...(p.output !== undefined ? { stdoutPattern: p.output } : {}),
            ...(p.any_exit ? { anyExit: true } : {}),
          },
          intervalMs: p.interval,
        },
      ],
    };
  },
});
