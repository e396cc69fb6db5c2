import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { JournalEventBody, LogMark } from '../journal/events.js';
import { type Command, sh } from '../shell/command.js';
import { statusList } from '../shared/format.js';
import type { Redactor } from '../shell/secret.js';
import { isStatic, staticValue, type Word } from '../shell/word.js';
import { applyEdit, unifiedDiff } from '../steps/edits/index.js';
import type { Action, StepContext, WaitCondition } from '../steps/kind.js';
import type { ExecResult, Session } from '../transport/transport.js';
import type { Clock } from './clock.js';
import { sendHttp } from './http.js';
import { LogFollower } from './log-follow.js';
import { type PollResult, WaitFailed, waitFor } from './wait.js';

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

export async function runAction(action: Action, env: ActionEnv): Promise<void> {
  switch (action.type) {
    case 'exec':
      return runExec(action, env);
    case 'put':
      return runPut(action, env);
    case 'edit':
      return runEdit(action, env);
    case 'wait':
      return runWait(action.condition, action.intervalMs ?? env.pollIntervalMs, env);
    case 'http':
      return runHttp(action, env);
    case 'confirm': {
      env.emit({ type: 'gate.pending', step: env.stepId, host: env.host, message: action.message });
      const approved = await env.approveGate({ step: env.stepId, host: env.host, message: action.message });
      if (!approved) throw new ActionFailed(`gate not approved: ${action.message}`);
      return;
    }
  }
}

function remaining(env: ActionEnv): number {
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

async function runExec(action: Extract<Action, { type: 'exec' }>, env: ActionEnv): Promise<void> {
  const res = await execOnHost(action.cmd, env);
  const ok = action.okCodes ?? [0];
  if (res.timedOut) throw new ActionFailed(`${what(action)} timed out`, failure(action.cmd, res));
  if (!ok.includes(res.code)) {
    const detail = failure(action.cmd, res);
    const lines = detail.stderrTail.split('\n').filter(Boolean);
    const last = lines.at(-1);
    // The whole tail goes to the journal too, so progress and `status` show e.g. which processes matched.
    throw new ActionFailed(`${what(action)} exited ${res.code}${last ? `: ${last}` : ''}`, {
      ...detail,
      ...(lines.length > 1 ? { lastLines: lines } : {}),
    });
  }
  if (action.capture && 'as' in action.capture)
    env.outputs[action.capture.as] = env.redactor.redact(res.stdout.trim());
  if (action.capture && 'keyValues' in action.capture) {
    for (const line of res.stdout.split('\n')) {
      const m = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(line.trim());
      if (m) env.outputs[m[1] as string] = env.redactor.redact(m[2] as string);
    }
  }
}

/** A short name for a command in messages; the full text is in the journal's step.command event. */
function what(action: Extract<Action, { type: 'exec' }>): string {
  if (action.description) return action.description;
  const text = String(action.cmd).replace(/\s+/g, ' ');
  return `command \`${text.length > 80 ? `${text.slice(0, 77)}...` : text}\``;
}

function failure(cmd: Command, res: ExecResult) {
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

async function runPut(action: Extract<Action, { type: 'put' }>, env: ActionEnv): Promise<void> {
  const local = isAbsolute(action.localPath)
    ? action.localPath
    : resolve(env.ctx.controllerDir, action.localPath);
  const remotePath = await resolveWord(action.remotePath, env);
  const data = readFileSync(local);
  env.emit({
    type: 'step.command',
    step: env.stepId,
    host: env.host,
    command: `put ${local} -> ${remotePath}`,
  });
  const { sha256 } = await env.session.put(data, remotePath, action.mode ? { mode: action.mode } : {});
  const expected = env.ctx.localSha256[local] ?? env.ctx.localSha256[action.localPath];
  if (expected && expected !== sha256) {
    throw new ActionFailed(
      `${local} changed since the plan was made (plan sha256 ${expected}, uploaded ${sha256})`,
    );
  }
  env.outputs.sha256 = sha256;
  env.outputs.path = remotePath;
}

async function runEdit(action: Extract<Action, { type: 'edit' }>, env: ActionEnv): Promise<void> {
  // Edit the file a symlink points at (Debian's sites-enabled): replacing the link would break it.
  const named = await resolveWord(action.path, env);
  const real = await execOnHost(sh`readlink -f -- ${named}`, env, { quiet: true });
  const path = real.code === 0 && real.stdout.trim() ? real.stdout.trim() : named;
  const backup = action.backupPath;
  // Keep the very first original: a retried or resumed edit must not back up its own output.
  const saved = await execOnHost(
    sh`if [ -e ${backup} ]; then echo kept; else mkdir -p "$(dirname ${backup})" && cp -p -- ${path} ${backup} && echo saved; fi`,
    env,
  );
  if (saved.code !== 0)
    throw new ActionFailed(`cannot back up ${path}`, failure(sh`cp -p -- ${path} ${backup}`, saved));
  const before = (await env.session.get(path)).toString('utf8');
  let after: string;
  try {
    after = applyEdit(before, action.spec);
  } catch (e) {
    throw new ActionFailed(`cannot edit ${path} on ${env.host}: ${(e as Error).message}`);
  }
  env.outputs.backup = backup;
  env.outputs.path = path;
  if (after === before) {
    env.emit({
      type: 'step.output',
      step: env.stepId,
      host: env.host,
      stream: 'stdout',
      text: `${path}: already as wanted\n`,
    });
    return;
  }
  env.emit({
    type: 'step.output',
    step: env.stepId,
    host: env.host,
    stream: 'stdout',
    text: unifiedDiff(before, after, path),
  });
  const mode = (await execOnHost(sh`stat -c %a -- ${path}`, env, { quiet: true })).stdout.trim();
  await env.session.put(Buffer.from(after, 'utf8'), path, /^[0-7]{3,4}$/.test(mode) ? { mode } : {});
  if (action.validate) {
    const res = await execOnHost(action.validate, env);
    if (res.code !== 0) {
      const restore = await execOnHost(
        sh`cp -p -- ${backup} ${`${path}.cutover-tmp`} && mv -f -- ${`${path}.cutover-tmp`} ${path}`,
        env,
      );
      throw new ActionFailed(
        `validation failed after editing ${path}; the original was ${restore.code === 0 ? 'restored' : 'NOT restored (see backup)'}: ${String(action.validate)}`,
        failure(action.validate, res),
      );
    }
  }
}

async function runHttp(action: Extract<Action, { type: 'http' }>, env: ActionEnv): Promise<void> {
  env.emit({
    type: 'step.command',
    step: env.stepId,
    host: env.host,
    command: `${action.request.method} ${action.request.url}`,
  });
  const res = await sendHttp(action.request, Math.min(remaining(env), 30_000), env.signal);
  if (!action.expectStatus.includes(res.status)) {
    throw new ActionFailed(
      `${action.request.method} ${action.request.url} answered ${res.error ?? res.status}, expected ${statusList(action.expectStatus)}`,
      { lastLines: res.body.split('\n').slice(0, 5) },
    );
  }
  if (action.capture) env.outputs[action.capture] = env.redactor.redact(res.body.trim().slice(0, 4096));
}

async function runWait(condition: WaitCondition, intervalMs: number, env: ActionEnv): Promise<void> {
  const { what, poll } = await waiter(condition, env);
  env.emit({ type: 'step.waiting', step: env.stepId, host: env.host, what });
  try {
    await waitFor(env.clock, { deadline: env.deadline, intervalMs, what, signal: env.signal }, poll);
  } catch (e) {
    if (e instanceof WaitFailed) {
      const last = e.lastSeen.map((l) => env.redactor.redact(l));
      const seen = `last lines seen:\n${last.map((l) => `  | ${l}`).join('\n') || '  (none)'}`;
      // A failure pattern names its line; the lines before it often say why (e.g. the cause of an ERROR).
      throw new ActionFailed(
        e.reason === 'timeout'
          ? `${e.message}; ${seen}`
          : last.length > 1
            ? `${e.message}\n${seen}`
            : e.message,
        { lastLines: last },
      );
    }
    throw e;
  }
}

async function waiter(
  condition: WaitCondition,
  env: ActionEnv,
): Promise<{ what: string; poll: () => Promise<PollResult> }> {
  // A poll made at the deadline still gets its answer: the wait, not the poll, reports the timeout.
  const timeout = () => Math.max(2_000, Math.min(env.deadline - env.clock.now(), 30_000));
  switch (condition.kind) {
    case 'command':
      return {
        what: condition.description,
        poll: async () => {
          const res = await env.session.exec(condition.cmd.render('exec'), {
            timeoutMs: timeout(),
            signal: env.signal,
          });
          const seen = (res.stdout + res.stderr).trim().split('\n').filter(Boolean).slice(-3);
          return { done: res.code === 0, seen };
        },
      };
    case 'http': {
      const body = condition.bodyPattern ? new RegExp(condition.bodyPattern) : undefined;
      return {
        what: `${condition.request.url} to answer ${statusList(condition.expectStatus)}${body ? ` with /${body.source}/` : ''}`,
        poll: async () => {
          const res = await sendHttp(condition.request, timeout(), env.signal);
          const ok = condition.expectStatus.includes(res.status) && (!body || body.test(res.body));
          return {
            done: ok,
            seen: [`${res.error ?? res.status} ${res.body.split('\n')[0]?.slice(0, 200) ?? ''}`],
          };
        },
      };
    }
    case 'log': {
      const mark = env.marks[env.marks.length - 1];
      if (!mark)
        throw new ActionFailed(
          `no log mark was recorded for ${String(condition.path)} before step ${condition.since}`,
        );
      const follower = new LogFollower(env.session, condition.path, mark);
      const pattern = new RegExp(condition.pattern);
      const fails = condition.failPatterns.map((p) => new RegExp(p));
      return {
        what: `/${condition.pattern}/ in ${String(condition.path)} (lines written after step ${condition.since})`,
        poll: async () => {
          const lines = await follower.poll(timeout(), env.signal);
          for (const line of lines) {
            const failed = fails.find((f) => f.test(line));
            if (failed)
              return {
                done: false,
                failure: `failure pattern /${failed.source}/ matched: ${line}`,
                seen: lines,
              };
            if (pattern.test(line)) {
              env.outputs.matched = env.redactor.redact(line);
              return { done: true, seen: lines };
            }
          }
          if (lines.length) {
            env.emit({
              type: 'step.waiting',
              step: env.stepId,
              host: env.host,
              what: `/${condition.pattern}/`,
              lastLine: env.redactor.redact(lines[lines.length - 1] as string),
            });
          }
          return { done: false, seen: lines };
        },
      };
    }
  }
}
