import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { type RunState, replay } from '../journal/replay.js';
import { formatDuration } from '../shared/duration.js';
import { type GlobalOptions, openHistory, runOrLatest } from './state.js';

/** `cutover runs` and `cutover status RUN`: views of the journal (the state folder, or the shared state). */
export function registerRunViews(program: Command): void {
  program
    .command('runs')
    .description(
      'list the runs, oldest first: of the state folder, or with --state of every controller; --host and --since for the history of one host',
    )
    .option('--host <name>', 'only the runs that worked on this host, with the versions it went through')
    .option('--since <age|date>', 'only runs started since then: 30d, 12h, 2w, or a date (2026-11-01)')
    .action(async (opts: { host?: string; since?: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      const history = await openHistory(global);
      try {
        const ids = await history.listRuns({
          ...(opts.host ? { host: opts.host } : {}),
          ...(since ? { since } : {}),
        });
        const runs: RunState[] = [];
        for (const id of ids) {
          const events = await history.read(id);
          if (events.length) runs.push(replay(events));
        }
        if (global.json) {
          for (const s of runs)
            process.stdout.write(
              `${JSON.stringify({ ...summary(s), ...(opts.host ? { onHost: onHost(s, opts.host) } : {}) })}\n`,
            );
          return;
        }
        if (runs.length === 0) {
          const what = [opts.host ? `on host ${opts.host}` : '', since ? `since ${since.toISOString()}` : '']
            .filter(Boolean)
            .join(' ');
          process.stdout.write(`no runs${what ? ` ${what}` : ''} in ${history.where}\n`);
          return;
        }
        process.stdout.write(opts.host ? renderHostHistory(runs, opts.host) : renderRunList(runs));
      } finally {
        await history.close();
      }
    });

  program
    .command('status [run]')
    .description(
      'where a run is (default: the latest): per host, each step and its state, pending gates, the failure and its last lines',
    )
    .action(async (given: string | undefined, _opts: unknown, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const history = await openHistory(global);
      try {
        const run = await runOrLatest(given, history, 'status');
        const events = await history.read(run);
        if (events.length === 0)
          throw new UsageError(`no run ${run} in ${history.where}`, 'List runs with `cutover runs`.');
        const state = replay(events);
        if (global.json) {
          process.stdout.write(
            `${JSON.stringify({ ...summary(state), steps: [...state.steps.values()] })}\n`,
          );
          return;
        }
        process.stdout.write(renderStatus(state));
      } finally {
        await history.close();
      }
    });
}

/**
 * `--since`: an age (`30d`, `12h`, `2w`, `90m`) or a date/time. Example: `parseSince('30d', now)` -> 30 days before now.
 */
export function parseSince(text: string, now = Date.now()): Date {
  const age = /^(\d+)\s*(m|h|d|w)$/.exec(text.trim());
  if (age) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[age[2] as 'm' | 'h' | 'd' | 'w'];
    return new Date(now - Number(age[1]) * unit);
  }
  const date = Date.parse(text);
  if (/^\d{4}-\d\d-\d\d/.test(text) && !Number.isNaN(date)) return new Date(date);
  throw new UsageError(
    `--since ${text}: expected an age (30d, 12h, 2w, 90m) or a date (2026-11-01, 2026-11-01T03:00Z)`,
    'Example: cutover runs --host web --since 30d',
  );
}

function renderRunList(runs: readonly RunState[]): string {
  return runs
    .map((s) => {
      const x = summary(s);
      return `${x.run}  ${x.outcome.padEnd(11)} ${x.cluster.padEnd(20)} ${x.done}/${x.steps} steps  ${x.runbook}  by ${s.operator}@${s.controller}\n`;
    })
    .join('');
}

/** The params that name a version (`version`, `to_version`, `app_version`…), as `name=value`. */
function versionsOf(s: RunState): string[] {
  return Object.entries(s.params)
    .filter(([k]) => /version/i.test(k))
    .map(([k, v]) => `${k}=${v}`);
}

/** How a run ended on one host: its steps there. */
function onHost(
  s: RunState,
  host: string,
): { outcome: string; done: number; steps: number; failed?: string } {
  const mine = [...s.steps.values()].filter((st) => st.host === host && st.role !== 'drain');
  const done = mine.filter((st) => st.status === 'succeeded').length;
  const failed = mine.find((st) => st.status === 'failed' || st.status === 'compensation-failed');
  const undone = mine.some((st) => st.status === 'compensated');
  const outcome = failed
    ? failed.status
    : undone
      ? 'put back'
      : mine.length > 0 && done === mine.length
        ? 'done'
        : done > 0
          ? 'partly done'
          : 'not reached';
  return {
    outcome,
    done,
    steps: mine.length,
    ...(failed ? { failed: `${failed.id.replace(/@.*$/, '')}: ${(failed.error ?? '').split('\n')[0]}` } : {}),
  };
}

/** `runs --host H`: each run on that host, then the versions the host went through (runs done there, in order). */
export function renderHostHistory(runs: readonly RunState[], host: string): string {
  const out: string[] = [`runs on ${host}, oldest first:`];
  const through: string[] = [];
  for (const s of runs) {
    const h = onHost(s, host);
    const versions = versionsOf(s);
    out.push(
      `  ${s.startedAt.slice(0, 16).replace('T', ' ')}  ${s.run}  ${(s.outcome ?? 'running/interrupted').padEnd(11)} on ${host}: ${h.outcome} (${h.done}/${h.steps})${versions.length ? `  ${versions.join(' ')}` : ''}  by ${s.operator}@${s.controller}`,
    );
    if (h.failed) out.push(`      failed: ${h.failed}`);
    if (h.outcome === 'done' && s.outcome !== 'rolled-back' && versions.length)
      through.push(`${versions.join(' ')} (${s.run})`);
  }
  out.push(
    '',
    through.length
      ? `${host} went through: ${through.join(' → ')}`
      : `${host}: no run with a version param (a param named *version*) completed there`,
  );
  return `${out.join('\n')}\n`;
}

function summary(s: RunState) {
  const steps = [...s.steps.values()].filter((x) => x.role !== 'drain');
  return {
    run: s.run,
    outcome: s.outcome ?? (s.finishedAt ? 'unknown' : 'running/interrupted'),
    cluster: s.cluster,
    runbook: s.runbook,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    steps: steps.length,
    done: steps.filter((x) => x.status === 'succeeded').length,
  };
}

/** The answer to "where are we?". */
export function renderStatus(s: RunState): string {
  const x = summary(s);
  const out = [
    `run ${s.run}: ${x.outcome}`,
    `  cluster ${s.cluster}, plan ${s.planHash.slice(0, 12)}, started ${s.startedAt}${s.finishedAt ? `, finished ${s.finishedAt}` : ''}`,
  ];
  out.push(`  runbook ${s.runbook}`, `  inventory ${s.inventory}`);
  if (s.error) out.push(`  error: ${s.error}`);
  const marks: Record<string, string> = {
    pending: '·',
    running: '▶',
    succeeded: '✓',
    failed: '✗',
    compensating: '↶',
    compensated: '↶',
    'compensation-failed': '!',
  };
  const hosts = [...new Set([...s.steps.values()].map((st) => st.host))];
  for (const host of hosts) {
    out.push('', `${host}:`);
    // In the order they ran (drains are added at run time); steps not reached yet keep plan order.
    const mine = [...s.steps.values()].filter((st) => st.host === host);
    const ran = mine
      .filter((st) => st.startedAt)
      .sort((a, b) => (a.startedAt as string).localeCompare(b.startedAt as string));
    for (const st of [...ran, ...mine.filter((x) => !x.startedAt)]) {
      const took =
        st.startedAt && st.endedAt
          ? ` ${formatDuration(Date.parse(st.endedAt) - Date.parse(st.startedAt))}`
          : '';
      const drain = st.role === 'drain';
      const restored = drain && st.status === 'compensated';
      const status = restored
        ? 'traffic drained, then restored'
        : drain && st.status === 'succeeded'
          ? 'traffic drained (not restored yet)'
          : st.status;
      out.push(
        `  ${restored ? '✓' : marks[st.status]} ${st.id.replace(/@.*$/, '').padEnd(40)} ${status}${took}${st.via === 'probe' ? ' (verified by probe)' : ''}`,
      );
      if (st.error && st.status !== 'succeeded') out.push(`      ${st.error.split('\n')[0]}`);
      for (const l of st.status === 'succeeded' ? [] : (st.lastLines ?? []).slice(-10))
        out.push(`      | ${l}`);
    }
  }
  for (const g of s.pendingGates) out.push('', `gate waiting on ${g.host} (${g.step}): ${g.message}`);
  const running = [...s.steps.values()].filter((st) => st.status === 'running');
  if (!s.finishedAt && running.length) {
    out.push(
      '',
      `The run stopped while ${running.map((r) => `${r.host}/${r.id}`).join(', ')} ran. Continue with \`cutover resume ${s.run}\`.`,
    );
  } else if (s.outcome === 'failed') {
    out.push(
      '',
      `Next: fix the cause, then \`cutover resume ${s.run}\` (after editing the runbook or inventory: \`cutover resume ${s.run} --replan\`), or undo everything with \`cutover rollback ${s.run}\`.`,
    );
  }
  return `${out.join('\n')}\n`;
}

/**
 * `cutover report RUN` without --html: the run in a few lines (how long, what happened per host),
 * then its status. Example first line: `run 20261122-030000-ab12: succeeded in 4m 10s — 12/12 steps, 3 hosts`.
 */
export function renderSummary(s: RunState): string {
  const x = summary(s);
  const took = s.finishedAt
    ? ` in ${formatDuration(Date.parse(s.finishedAt) - Date.parse(s.startedAt))}`
    : '';
  const steps = [...s.steps.values()].filter((st) => st.role !== 'drain');
  const count = (f: (st: (typeof steps)[number]) => boolean) => steps.filter(f).length;
  const undone = count((st) => st.status === 'compensated');
  const failed = count((st) => st.status === 'failed' || st.status === 'compensation-failed');
  const out = [
    `run ${s.run}: ${x.outcome}${took} — ${x.done}/${x.steps} steps done on ${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'}${undone ? `, ${undone} undone` : ''}${failed ? `, ${failed} failed` : ''}${s.replans ? `, replanned ${s.replans}×` : ''}`,
  ];
  const hosts = [...new Set(steps.map((st) => st.host))];
  for (const host of hosts) {
    const mine = steps.filter((st) => st.host === host && st.phase !== 'preflight');
    const done = mine.filter((st) => st.status === 'succeeded').length;
    const bad = mine.find((st) => st.status === 'failed' || st.status === 'compensation-failed');
    out.push(
      `  ${host.padEnd(14)} ${done}/${mine.length} done${bad ? `; ${bad.id.replace(/@.*$/, '')} ${bad.status}: ${(bad.error ?? '').split('\n')[0]}` : ''}`,
    );
  }
  return `${out.join('\n')}\n\n${renderStatus(s)}`;
}
