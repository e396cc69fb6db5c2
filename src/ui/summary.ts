import { formatDuration } from '../shared/duration.js';
import type { HostView, RunView } from './run-view.js';

/** One host's line of the end-of-run summary. Example: `{ host: 'web', outcome: 'succeeded', duration: '4m10s', done: 14, failed: 0, undone: 0, versionBefore: '5.0.1', versionAfter: '5.0.2' }`. */
export interface HostSummary {
  host: string;
  outcome: string;
  durationMs?: number;
  duration: string;
  done: number;
  failed: number;
  undone: number;
  total: number;
  versionBefore?: string;
  versionAfter?: string;
}

/** The summary rows of a run. Example: `hostSummaries(view)[0].outcome` -> `'succeeded'`. */
export function hostSummaries(view: RunView, now = view.lastEventAt): HostSummary[] {
  return view.hosts.map((h) => {
    const durationMs =
      h.firstStart === undefined ? undefined : (h.current ? now : (h.lastEnd ?? now)) - h.firstStart;
    return {
      host: h.name,
      outcome: outcomeLabel(h),
      ...(durationMs !== undefined ? { durationMs } : {}),
      duration: durationMs === undefined ? '—' : formatDuration(durationMs),
      done: h.done,
      failed: h.failed,
      undone: h.undone,
      total: h.total,
      ...(h.versionBefore !== undefined ? { versionBefore: h.versionBefore } : {}),
      ...(h.versionAfter !== undefined ? { versionAfter: h.versionAfter } : {}),
    };
  });
}

/** Whether any host captured a version (the version column is shown only then). */
export function hasVersions(rows: readonly HostSummary[]): boolean {
  return rows.some((r) => r.versionBefore !== undefined || r.versionAfter !== undefined);
}

/** A host status as people read it. Example: `outcomeLabel({ status: 'not-reached' })` -> `'not reached'`. */
export function outcomeLabel(h: Pick<HostView, 'status'>): string {
  return h.status === 'not-reached' ? 'not reached' : h.status === 'stopped' ? 'stopped early' : h.status;
}

/**
 * The end-of-run table for the terminal: per host outcome, duration, steps done/failed/undone and,
 * when the runbook captures a `version` output, the version before and after. Example:
 * `summaryTable(view, { color: false })` -> `['host  outcome    duration  done  failed  undone', ...]`.
 */
export function summaryTable(view: RunView, opts: { color: boolean }): string[] {
  const rows = hostSummaries(view);
  const versions = hasVersions(rows);
  const head = [
    'host',
    'outcome',
    'duration',
    'done',
    'failed',
    'undone',
    ...(versions ? ['version before → after'] : []),
  ];
  const cells = rows.map((r) => [
    r.host,
    r.outcome,
    r.duration,
    `${r.done}/${r.total}`,
    String(r.failed),
    String(r.undone),
    ...(versions ? [`${r.versionBefore ?? '—'} → ${r.versionAfter ?? '—'}`] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const paint = (text: string, outcome: string) => {
    if (!opts.color) return text;
    const code =
      outcome === 'succeeded'
        ? '32'
        : ['failed', 'aborted'].includes(outcome)
          ? '31'
          : outcome === 'rolled-back'
            ? '35'
            : '33';
    return `\x1b[${code}m${text}\x1b[0m`;
  };
  const line = (c: string[], outcome?: string) =>
    c
      .map((cell, i) => {
        const padded = i === c.length - 1 ? cell : cell.padEnd(widths[i] as number);
        return i === 1 && outcome ? paint(padded, outcome) : padded;
      })
      .join('  ')
      .trimEnd();
  const title = `run ${view.run} ${view.outcome ?? 'running'}${view.finishedAt ? ` in ${formatDuration(view.finishedAt - view.startedAt)}` : ''}`;
  return [
    opts.color ? `\x1b[1m${title}\x1b[0m` : title,
    line(head),
    ...cells.map((c, i) => line(c, rows[i]?.outcome)),
  ];
}
