/** Wait actions: a command, an HTTP answer or log lines, polled (or followed) through one `waitFor`. */
import { statusList } from '../shared/format.js';
import { linearRegExp } from '../shared/regex.js';
import type { WaitCondition, WaitGuard } from '../steps/kind.js';
import { ActionFailed, type ActionEnv } from './env.js';
import { sendHttp } from './http.js';
import { LogFollower } from './log-follow.js';

/** The longest a host waits for a log to change in one round (then the path is rendered again: a new date in its name). */
const FOLLOW_CAP_SEC = 5;
/** The same with a guard, which runs between rounds. */
const FOLLOW_GUARDED_CAP_SEC = 1;
/** After a round that brought lines, the next round starts this much later at most, so a chatty log is read in batches. */
const FOLLOW_BATCH_MS = 50;
import { type PollResult, WaitFailed, waitFor } from './wait.js';

export async function runWait(condition: WaitCondition, intervalMs: number, env: ActionEnv): Promise<void> {
  const waiting = await waiter(condition, intervalMs, env);
  const { what, poll } =
    'guard' in condition && condition.guard ? guarded(waiting, condition.guard, env) : waiting;
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

/**
 * A wait that also watches what it waits for: after each round that did not finish, the guard runs
 * on the host; when it says the unit failed or the process is gone, the wait ends at once.
 */
function guarded(
  w: { what: string; poll: () => Promise<PollResult> },
  guard: WaitGuard,
  env: ActionEnv,
): { what: string; poll: () => Promise<PollResult> } {
  return {
    what: `${w.what}, ${guard.description}`,
    poll: async () => {
      const result = await w.poll();
      if (result.done || result.failure) return result;
      const res = await env.session.exec(guard.cmd.render('exec'), { timeoutMs: 30_000, signal: env.signal });
      if (res.code === 0) return result;
      const why = (res.stderr.trim() || res.stdout.trim() || `exit ${res.code}`)
        .split('\n')
        .slice(-2)
        .join('; ');
      return { ...result, failure: `${env.redactor.redact(why)}: the wait ended at once` };
    },
  };
}

async function waiter(
  condition: WaitCondition,
  intervalMs: number,
  env: ActionEnv,
): Promise<{ what: string; poll: () => Promise<PollResult> }> {
  // A poll made at the deadline still gets its answer: the wait, not the poll, reports the timeout.
  const timeout = () => Math.max(2_000, Math.min(env.deadline - env.clock.now(), 30_000));
  switch (condition.kind) {
    case 'command': {
      const stdout =
        condition.stdoutPattern !== undefined ? linearRegExp(condition.stdoutPattern) : undefined;
      return {
        what: condition.description,
        poll: async () => {
          const res = await env.session.exec(condition.cmd.render('exec'), {
            timeoutMs: timeout(),
            signal: env.signal,
          });
          const seen = (res.stdout + res.stderr).trim().split('\n').filter(Boolean).slice(-3);
          const exitOk =
            res.code === 0 || (stdout !== undefined && condition.anyExit === true && !res.timedOut);
          const done = exitOk && (stdout === undefined || stdout.test(res.stdout.replace(/(?:\r?\n)+$/, '')));
          return { done, seen };
        },
      };
    }
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
      // Followed on the host (see followCommand), so a line is seen as it is written; a guard still
      // runs between rounds, so with one the host waits at most FOLLOW_GUARDED_CAP_SEC a round.
      const capSec = 'guard' in condition && condition.guard ? FOLLOW_GUARDED_CAP_SEC : FOLLOW_CAP_SEC;
      return {
        what: `/${condition.pattern}/ in ${String(condition.path)} (lines written after step ${condition.since})`,
        poll: async () => {
          const started = env.clock.now();
          const cap = Math.max(1, Math.min(capSec, Math.ceil((env.deadline - started) / 1000)));
          const { lines, followed, changed } = await follower.next(cap, timeout(), env.signal);
          // After a followed round: at once when the log moved (a moment later after new lines, so
          // a chatty log is read in batches); a round in which nothing moved took the cap (on the
          // engine's clock too, so virtual time moves in tests). A host that could not wait is
          // polled at the interval, as before.
          const againMs = !followed
            ? undefined
            : lines.length > 0
              ? Math.min(intervalMs, FOLLOW_BATCH_MS)
              : changed
                ? 0
                : Math.max(0, cap * 1000 - (env.clock.now() - started));
          const next = againMs === undefined ? {} : { againMs };
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
          return { done: false, seen: lines, ...next };
        },
      };
    }
  }
}
