/** Wait actions: a command, an HTTP answer or log lines, polled (or followed) through one `waitFor`. */
import { statusList } from '../shared/format.js';
import { linearRegExp } from '../shared/regex.js';
import type { WaitCondition, WaitGuard } from '../steps/kind.js';
import { ActionFailed, type ActionEnv } from './env.js';
import { sendHttp } from './http.js';
import { LogFollower } from './log-follow.js';
import { type PollResult, WaitFailed, waitFor } from './wait.js';

/** The longest segment of a followed log (then the path is rendered again on the host: a new date in its name). */
const FOLLOW_CAP_SEC = 5;
/** The same with a guard, which runs between segments. */
const FOLLOW_GUARDED_CAP_SEC = 1;
/** wait.http asks again this soon after its first answer, then twice as late each time, up to the poll interval. */
const HTTP_FIRST_POLL_MS = 100;
/** A command that waits on the host, on a host that cannot (no inotifywait), is asked again this soon. */
const HOST_POLL_MS = 100;
/** The progress view gets a waiting log's last line at most this often (each is a journal event). */
const PROGRESS_EVERY_MS = 1000;
/** The lines a wait keeps from one segment, to show on a timeout (waitFor keeps the last 20 overall). */
const KEEP_LINES = 20;

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
      const hostWaits = condition.hostWaits;
      return {
        what: condition.description,
        poll: async () => {
          // A command that waits on the host is bounded by the step's deadline, not a poll's slack.
          const left = env.deadline - env.clock.now();
          const res = await env.session.exec(condition.cmd.render('exec'), {
            timeoutMs: hostWaits ? Math.max(1000, Math.min(left, (hostWaits.capSec + 5) * 1000)) : timeout(),
            signal: env.signal,
          });
          const all = (res.stdout + res.stderr).trim().split('\n').filter(Boolean);
          const how = hostWaits ? /^waited: (\w+)$/.exec(all[all.length - 1] ?? '')?.[1] : undefined;
          const seen = (how ? all.slice(0, -1) : all).slice(-3);
          const exitOk =
            res.code === 0 || (stdout !== undefined && condition.anyExit === true && !res.timedOut);
          const done = exitOk && (stdout === undefined || stdout.test(res.stdout.replace(/(?:\r?\n)+$/, '')));
          // After the host waited for a change: at once; a host that could not wait: a short pause.
          const againMs =
            how === 'inotifywait' ? 0 : how === 'polled' ? Math.min(HOST_POLL_MS, intervalMs) : undefined;
          return { done, seen, ...(againMs === undefined ? {} : { againMs }) };
        },
      };
    }
    case 'http': {
      const body = condition.bodyPattern ? new RegExp(condition.bodyPattern) : undefined;
      // A page that comes up soon is seen soon; one that takes long is asked at the interval.
      let againMs = Math.min(HTTP_FIRST_POLL_MS, intervalMs);
      return {
        what: `${condition.request.url} to answer ${statusList(condition.expectStatus)}${body ? ` with /${body.source}/` : ''}`,
        poll: async () => {
          const res = await sendHttp(condition.request, timeout(), env.signal);
          const ok = condition.expectStatus.includes(res.status) && (!body || body.test(res.body));
          const result = {
            done: ok,
            seen: [`${res.error ?? res.status} ${res.body.split('\n')[0]?.slice(0, 200) ?? ''}`],
            againMs,
          };
          againMs = Math.min(againMs * 2, intervalMs);
          return result;
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
      // The host streams the log (see log-follow.ts), so a line is matched as it arrives; a guard
      // runs between segments, so with one a segment lasts FOLLOW_GUARDED_CAP_SEC at most.
      const capSec = 'guard' in condition && condition.guard ? FOLLOW_GUARDED_CAP_SEC : FOLLOW_CAP_SEC;
      let followed = true;
      let shownAt = Number.NEGATIVE_INFINITY;
      return {
        what: `/${condition.pattern}/ in ${String(condition.path)} (lines written after step ${condition.since})`,
        poll: async () => {
          const started = env.clock.now();
          let verdict: PollResult | undefined;
          const seen: string[] = [];
          const onLines = (lines: string[]): boolean => {
            for (const line of lines) {
              seen.push(line);
              const failed = fails.find((f) => f.test(line));
              if (failed) {
                verdict = { done: false, failure: `failure pattern /${failed.source}/ matched: ${line}` };
                return true;
              }
              if (pattern.test(line)) {
                env.outputs.matched = env.redactor.redact(line);
                verdict = { done: true };
                return true;
              }
            }
            // The last line seen, for the progress view: at most once a second, a journal event each.
            if (env.clock.now() - shownAt >= PROGRESS_EVERY_MS) {
              shownAt = env.clock.now();
              env.emit({
                type: 'step.waiting',
                step: env.stepId,
                host: env.host,
                what: `/${condition.pattern}/`,
                lastLine: env.redactor.redact(lines[lines.length - 1] as string),
              });
            }
            return false;
          };
          if (!followed) {
            onLines(await follower.poll(timeout(), env.signal));
            return { done: false, ...verdict, seen: seen.slice(-KEEP_LINES) };
          }
          const cap = Math.max(1, Math.min(capSec, Math.ceil((env.deadline - started) / 1000)));
          const end = await follower.segment(cap, timeout(), onLines, env.signal);
          followed = end.followed;
          // A segment that was not decided ended at its cap (on the engine's clock too, so virtual
          // time moves in tests) or because the log moved (at once). A host that cannot follow is
          // polled at the interval from now on.
          const againMs = !followed
            ? undefined
            : end.changed
              ? 0
              : Math.max(0, cap * 1000 - (env.clock.now() - started));
          return {
            done: false,
            ...verdict,
            seen: seen.slice(-KEEP_LINES),
            ...(againMs === undefined ? {} : { againMs }),
          };
        },
      };
    }
  }
}
