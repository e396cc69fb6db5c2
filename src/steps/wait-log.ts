import { z } from 'zod';
import { defineKind } from './kind.js';
import { hostPath, jsRegex } from './support.js';
import { watchGuard, watchParam } from './watch.js';

const params = z
  .object({
    path: hostPath.describe(
      "absolute path of the log, may be dated: /var/log/comindware/cmw/heartbeat_{{ host.date('%Y-%m-%d') }}.log",
    ),
    pattern: jsRegex.describe(
      'regex (JavaScript syntax) a new line must match, e.g. Skipping rebalancing \\(nothing scheduled\\)',
    ),
    fail: z
      .array(jsRegex)
      .optional()
      .describe('regexes that end the wait at once as failed, e.g. [FATAL, OutOfMemoryError]'),
    since: z
      .string()
      .min(1)
      .optional()
      .describe(
        'id of an earlier step of this phase: only lines written after it started count (default: the previous step that acts)',
      ),
    watch: watchParam.optional(),
  })
  .strict();

/**
 * `wait.log`: waits for a line matching `pattern` among the lines written to a log after the
 * triggering step started (the engine records the offset before it; rotation and a dated file
 * name are followed); `fail` patterns end the wait at once. The host streams the log (`tail -F`
 * from the cursor through its long-lived sh, see actions/log-follow.ts) and each line is matched
 * as it arrives; a host without the tools for it is polled. Example: `{ path: '/home/schedulelog/schedule.log', pattern: 'Started' }`.
 */
export const waitLog = defineKind({
  name: 'wait.log',
  summary:
    'Wait for a log line matching a regex, among lines written after the triggering step started (rotation and dated names followed); the host streams the log (tail -F) and each line is matched as it arrives; fail patterns end the wait at once; on timeout the last lines are shown.',
  params,
  intent: (p) => ({ does: `wait for /${p.pattern}/ in ${String(p.path)}` }),
  readOnly: true,
  plan(p, ctx) {
    return {
      actions: [
        {
          type: 'wait',
          // Without its own `since`, the plan compiler chose one (the previous acting step): ctx says which.
          condition: {
            kind: 'log',
            path: p.path,
            pattern: p.pattern,
            failPatterns: p.fail ?? [],
            since: p.since ?? ctx.since ?? '',
            ...(p.watch ? { guard: watchGuard(p.watch) } : {}),
          },
        },
      ],
    };
  },
});
