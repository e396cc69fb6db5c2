import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { type RunState, replay } from '../journal/replay.js';
import { formatDuration } from '../shared/duration.js';
import { type GlobalOptions, openJournal, runOrLatest, stateDir } from './state.js';

/** `cutover runs` and `cutover status RUN`: views of the journal. */
export function registerRunViews(program: Command): void {
  program
    .command('runs')
    .description('list the runs in the state folder, newest last')
    .action((_opts: unknown, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const journal = openJournal(global);
      const runs = journal.listRuns().map((r) => replay(journal.read(r)));
      if (global.json) {
        for (const s of runs) process.stdout.write(`${JSON.stringify(summary(s))}\n`);
        return;
      }
      if (runs.length === 0) {
        process.stdout.write(`no runs in ${stateDir(global)}\n`);
        return;
      }
      for (const s of runs) {
        const x = summary(s);
        process.stdout.write(
          `${x.run}  ${x.outcome.padEnd(11)} ${x.cluster.padEnd(20)} ${x.done}/${x.steps} steps  ${x.runbook}\n`,
        );
      }
    });

  program
    .command('status [run]')
    .description(
      'where a run is (default: the latest): per host, each step and its state, pending gates, the failure and its last lines',
    )
    .action((given: string | undefined, _opts: unknown, cmd: Command) => {
      const global = cmd.optsWithGlobals() as GlobalOptions;
      const run = runOrLatest(given, global, 'status');
      const events = openJournal(global).read(run);
      if (events.length === 0)
        throw new UsageError(`no run ${run} in ${stateDir(global)}`, 'List runs with `cutover runs`.');
      const state = replay(events);
      if (global.json) {
        process.stdout.write(`${JSON.stringify({ ...summary(state), steps: [...state.steps.values()] })}\n`);
        return;
      }
      process.stdout.write(renderStatus(state));
    });
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
