/**
 * What every action runs with: the host's session, the step's deadline and outputs, the journal.
 * `execOnHost` is the one way an action runs a command (output streamed, secrets redacted).
 */
import type { JournalEventBody, LogMark } from '../journal/events.js';
import { type Command, sh } from '../shell/command.js';
import type { Redactor } from '../shell/secret.js';
import { isStatic, staticValue, type Word } from '../shell/word.js';
import type { StepContext } from '../steps/kind.js';
import type { ExecResult, Session } from '../transport/transport.js';
import type { Clock } from './clock.js';

/** Everything one action needs while its step runs on one host. */
export interface ActionEnv {
  session: Session;
  clock: Clock;
  /** Absolute time (clock ms) by which the whole step must be done. */
  deadline: number;
  signal: AbortSignal;
  ctx: StepContext;
  stepId: string;
  host: string;
  /** Log marks recorded for this step (wait.log), by resolved file. */
  marks: readonly LogMark[];
  outputs: Record<string, string>;
  redactor: Redactor;
  emit(event: JournalEventBody): void;
  approveGate(gate: { step: string; host: string; message: string }): Promise<boolean>;
  pollIntervalMs: number;
  /** The session of another host of the plan (actions with `on`: a balancer in front of this host). */
  sessionOn?: (host: string) => Promise<Session>;
  /** Where to read a controller file from: the run folder's copy of it, when the run keeps one. */
  localCopy?: (file: string) => string | undefined;
}

/** An action failed; carries what the operator needs to see. */
export class ActionFailed extends Error {
  constructor(
    message: string,
    readonly detail: { command?: string; exitCode?: number; stderrTail?: string; lastLines?: string[] } = {},
  ) {
    super(message);
  }
}

export function remaining(env: ActionEnv): number {
  const left = env.deadline - env.clock.now();
  if (left <= 0) throw new ActionFailed('step timed out');
  return left;
}

/** Runs a command with the step's remaining time, streaming output into the journal. */
export async function execOnHost(
  cmd: Command,
  env: ActionEnv,
  opts: { quiet?: boolean } = {},
): Promise<ExecResult> {
  if (!opts.quiet) env.emit({ type: 'step.command', step: env.stepId, host: env.host, command: String(cmd) });
  const stdin = cmd.stdinText();
  // Output goes to the journal as it comes, except an end that may be the start of a secret: it
  // waits for the next piece, so a secret split across two chunks of a pipe is still redacted.
  const pending = { stdout: '', stderr: '' };
  const emit = (stream: 'stdout' | 'stderr', text: string) => {
    if (text) env.emit({ type: 'step.output', step: env.stepId, host: env.host, stream, text });
  };
  try {
    return await env.session.exec(cmd.render('exec'), {
      timeoutMs: remaining(env),
      signal: env.signal,
      ...(stdin !== undefined ? { stdin } : {}),
      ...(opts.quiet
        ? {}
        : {
            onOutput: (stream: 'stdout' | 'stderr', text: string) => {
              const all = pending[stream] + text;
              const ready = env.redactor.safeLength(all);
              pending[stream] = all.slice(ready);
              emit(stream, all.slice(0, ready));
            },
          }),
    });
  } finally {
    emit('stdout', pending.stdout);
    emit('stderr', pending.stderr);
  }
}

export function failure(cmd: Command, res: ExecResult) {
  const tail = (res.stderr || res.stdout).trimEnd().split('\n').slice(-10).join('\n');
  return { command: String(cmd), exitCode: res.code, stderrTail: tail };
}

/** A host path: static words are known here; a host-date word is resolved by the host's shell. */
export async function resolveWord(word: Word, env: ActionEnv): Promise<string> {
  if (isStatic(word)) return staticValue(word, true);
  const res = await execOnHost(sh`printf '%s' ${word}`, env, { quiet: true });
  if (res.code !== 0) throw new ActionFailed(`cannot resolve ${String(word)} on ${env.host}`);
  return res.stdout;
}
