import { firstLine } from './kind.js';
import { z } from 'zod';
import { type Command, raw, script, sh } from '../shell/command.js';
import type { Word } from '../shell/word.js';
import { type Action, defineKind } from './kind.js';
import { scriptText } from './params.js';
import { envVars, holdsSecret, hostPath, outputName, scriptEnv, stepDir } from './support.js';

const params = z
  .object({
    // Required script fields use the bare `scriptText` schema: compile recognises script fields by identity,
    // and a `.describe()` copy would lose the quoting of expanded values. Its own description documents it.
    command: scriptText,
    cwd: hostPath.optional().describe('absolute directory to run the script in'),
    env: envVars
      .optional()
      .describe(
        'environment variables for the script (and its undo); values holding secrets are passed on stdin, never in argv',
      ),
    creates: hostPath
      .optional()
      .describe(
        'a path the script creates: when it exists the step is done and the script is not run (also the probe)',
      ),
    unless: scriptText
      .optional()
      .describe(
        'a check script: when it exits 0 the step is done and the script is not run (also the probe)',
      ),
    undo: scriptText
      .optional()
      .describe(
        'a script that reverses the effect: the compensation; runs with the same cwd and env, only if the script ran',
      ),
    okCodes: z
      .array(z.number().int().min(0).max(255))
      .min(1)
      .optional()
      .describe('exit codes that count as success (default [0])'),
    capture: outputName.optional().describe('record the trimmed stdout under this output name'),
    readonly: z
      .boolean()
      .default(false)
      .describe(
        'the script only reads (a check, a status): allowed in preflight, and run again freely when a resume finds it interrupted',
      ),
  })
  .strict()
  .refine((p) => !(p.readonly && p.undo !== undefined), {
    message: 'a readonly script has nothing to undo: drop undo, or readonly',
    path: ['undo'],
  });

type Params = z.output<typeof params>;

/** The "already done" condition from creates/unless, or undefined when the script always runs. */
function guardOf(p: Params): Command | undefined {
  const creates = p.creates === undefined ? undefined : sh`test -e ${p.creates}`;
  // The check's stdout is dropped: a probe's stdout is read for key=value outputs.
  const unless = p.unless === undefined ? undefined : sh`{\n${script(p.unless)}\n} >/dev/null`;
  if (creates && unless) return sh`${creates} || ${unless}`;
  return creates ?? unless;
}

function skipMessage(p: Params): Command {
  if (p.creates !== undefined && p.unless !== undefined) {
    return raw(`echo 'shell.run: nothing to do: the creates path exists or the unless check passed' >&2`);
  }
  if (p.creates !== undefined) return sh`printf 'shell.run: nothing to do: %s exists\\n' ${p.creates} >&2`;
  return raw(`echo 'shell.run: nothing to do: the unless check passed' >&2`);
}

function withInput(cmd: Command, stdin: Word | undefined): Command {
  return stdin === undefined ? cmd : cmd.withStdin(stdin);
}

/** `{ body }` after the environment prefix, or the body alone when there is no prefix. */
function inEnv(prefix: Command, body: Command): Command {
  return prefix.render('display') === '' ? body : sh`${prefix}{\n${body}\n}`;
}

/**
 * `shell.run`: runs an author-written script on the host. With `creates`/`unless` the script
 * runs only when not already done, and that check is the probe. `undo` is its compensation.
 * Example: `{ command: 'bash version_install.sh', cwd: '/mnt/shared/CMW_5.0/scripts' }`.
 */
export const shellRun = defineKind({
  name: 'shell.run',
  summary:
    'Run a shell script (template values inserted quoted); creates/unless skip it when already done and serve as the probe; undo is the compensation (it runs only if the script ran); secret env values travel on stdin.',
  params,
  intent: (p) => ({
    does: `run ${firstLine(p.command)}`,
    undo: p.undo ? `run ${firstLine(p.undo)}` : 'none',
  }),
  readOnlyFor: (p) => p.readonly,
  ownUndo: (p) => p.undo !== undefined,
  plan(p, ctx) {
    const { prefix, stdin } = scriptEnv(p);
    const guard = guardOf(p);
    const body = script(p.command);
    let cmd: Command;
    if (guard) {
      // With an undo, leave a mark that the script ran, so the undo never reverses work done by someone else.
      const dir = stepDir(ctx);
      const mark =
        p.undo === undefined ? raw('') : sh`mkdir -p ${dir} && : > ${`${dir}/applied`} || exit 2\n`;
      cmd = sh`${prefix}if ${guard}; then ${skipMessage(p)}; else\n${mark}${body}\nfi`;
    } else {
      cmd = inEnv(prefix, body);
    }
    const action: Action = {
      type: 'exec',
      cmd: withInput(cmd, stdin),
      ...(p.okCodes ? { okCodes: p.okCodes } : {}),
      ...(p.capture ? { capture: { as: p.capture } } : {}),
    };
    if (!guard) return { actions: [action], unpredictable: 'runs an arbitrary script' };
    const probe =
      p.unless === undefined && p.creates !== undefined
        ? sh`test -e ${p.creates}`
        : sh`${probePrefix(p)}if ${guard}; then true; else false; fi`;
    return {
      actions: [action],
      probe: {
        cmd: probe,
        description:
          p.unless === undefined
            ? `${String(p.creates)} exists`
            : p.creates === undefined
              ? 'the unless check exits 0'
              : `${String(p.creates)} exists or the unless check exits 0`,
      },
    };
  },
  compensate(p, _outputs, ctx) {
    if (p.undo === undefined) return [];
    const { prefix, stdin } = scriptEnv(p);
    const undo = script(p.undo);
    const cmd = guardOf(p)
      ? sh`${prefix}if [ -e ${`${stepDir(ctx)}/applied`} ]; then\n${undo}\nelse echo 'shell.run: the script never ran on this host; nothing to undo' >&2; fi`
      : inEnv(prefix, undo);
    return [{ type: 'exec', cmd: withInput(cmd, stdin), description: 'undo script' }];
  },
});

/** A probe gets no stdin, so it runs with the cwd and the plain env values only. */
function probePrefix(p: Params): Command {
  const plain = Object.fromEntries(Object.entries(p.env ?? {}).filter(([, v]) => !holdsSecret(v)));
  return scriptEnv({ cwd: p.cwd, env: plain }).prefix;
}
