/**
 * The run's timeline as an SVG Gantt chart: hosts as rows, step attempts as bars (the waiting part
 * hatched, gates hatched yellow, failures red with ✗, retries orange), undos in a thin lane under
 * each host (purple, ↶), phase starts as dashed lines. Self-contained (its own <style>), used by the
 * HTML report and the live dashboard.
 */
import { formatDuration } from '../shared/duration.js';
import { escapeHtml } from './html.js';
import type { RunView, StepBar, UndoBar } from './run-view.js';

/** Options of the chart. Example: `{ now: Date.now(), width: 1100 }`. */
export interface GanttOptions {
  /** Where bars of running steps end (open runs); default the last event. */
  now?: number;
  width?: number;
}

const LABEL_W = 150;
const AXIS_H = 56;
const ROW_H = 40;
const BAR_H = 20;
const UNDO_H = 8;
const PAD_R = 16;

const TICKS_MS = [
  100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
];

/** The chart as an `<svg>` string. Example: `ganttSvg(runView(events), { now: Date.now() })`. */
export function ganttSvg(view: RunView, opts: GanttOptions = {}): string {
  const width = opts.width ?? 1100;
  const t0 = view.startedAt;
  const last =
    view.finishedAt ??
    (view.open ? Math.max(opts.now ?? view.lastEventAt, view.lastEventAt) : view.lastEventAt);
  const span = Math.max(last - t0, 1000);
  const plotW = width - LABEL_W - PAD_R;
  const x = (t: number) => LABEL_W + ((Math.min(Math.max(t, t0), t0 + span) - t0) / span) * plotW;
  const height = AXIS_H + view.hosts.length * ROW_H + 8;
  const end = (t: number | undefined) => t ?? last;
  const rowOf = new Map(view.hosts.map((h, i) => [h.name, i]));
  const rowY = (host: string) => AXIS_H + (rowOf.get(host) ?? 0) * ROW_H;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="gantt" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="timeline of run ${escapeHtml(view.run)}">`,
    `<style>${GANTT_CSS}</style>`,
    '<defs>',
    '<pattern id="g-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#cfe3fb"/><line x1="0" y1="0" x2="0" y2="6" stroke="#4a90d9" stroke-width="3"/></pattern>',
    '<pattern id="g-hatch-ok" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#c8f0d2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#2ea44f" stroke-width="3"/></pattern>',
    '<pattern id="g-gate" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff3c4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d9a400" stroke-width="3"/></pattern>',
    '</defs>',
  );

  // Rows: host names and zebra stripes.
  view.hosts.forEach((h, i) => {
    const y = AXIS_H + i * ROW_H;
    out.push(
      `<rect x="0" y="${y}" width="${width}" height="${ROW_H}" class="${i % 2 ? 'g-row g-odd' : 'g-row'}"/>`,
      `<text x="8" y="${y + 4 + BAR_H / 2 + 4}" class="g-host g-${h.status}">${escapeHtml(h.name)}</text>`,
      `<text x="8" y="${y + ROW_H - 5}" class="g-sub">${h.done}/${h.total} ✓${h.failed ? ` ${h.failed} ✗` : ''}${h.undone ? ` ${h.undone} ↶` : ''}</text>`,
    );
  });

  // Axis: relative time from the start, with a grid line per tick.
  const tick = TICKS_MS.find((t) => span / t <= 10) ?? 43_200_000;
  out.push(`<g class="g-axis">`);
  for (let t = 0; t <= span; t += tick) {
    const tx = x(t0 + t);
    out.push(
      `<line x1="${f(tx)}" y1="${AXIS_H - 6}" x2="${f(tx)}" y2="${height - 4}" class="g-grid"/>`,
      `<text x="${f(tx)}" y="${AXIS_H - 10}" text-anchor="middle">${escapeHtml(t === 0 ? '0' : `+${formatDuration(t)}`)}</text>`,
    );
  }
  out.push('</g>');

  // Phase starts; phases that start close together stack their names (up to three rows; more
  // keep only their line, named in its tooltip).
  const labelEnds = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const p of view.phases) {
    const px = x(p.start);
    const row = labelEnds.findIndex((end) => px + 3 > end);
    const title = `<title>phase ${escapeHtml(p.id)}</title>`;
    if (row < 0) {
      out.push(`<line x1="${f(px)}" y1="2" x2="${f(px)}" y2="${height - 4}" class="g-phase">${title}</line>`);
      continue;
    }
    labelEnds[row] = px + 3 + p.id.length * 6 + 6;
    out.push(
      `<line x1="${f(px)}" y1="${2 + row * 11}" x2="${f(px)}" y2="${height - 4}" class="g-phase">${title}</line>`,
      `<text x="${f(px + 3)}" y="${10 + row * 11}" class="g-phase-label">${escapeHtml(p.id)}</text>`,
    );
  }

  for (const bar of view.bars) {
    if (!rowOf.has(bar.host)) continue;
    out.push(stepBar(bar, rowY(bar.host) + 4, x, end));
  }
  for (const undo of view.undos) {
    if (!rowOf.has(undo.host)) continue;
    out.push(undoBar(undo, rowY(undo.host) + 6 + BAR_H, x, end));
  }

  if (view.open && !view.finishedAt) {
    const nx = x(last);
    out.push(`<line x1="${f(nx)}" y1="${AXIS_H - 4}" x2="${f(nx)}" y2="${height - 4}" class="g-now"/>`);
  }
  out.push('</svg>');
  return out.join('');
}

function stepBar(bar: StepBar, y: number, x: (t: number) => number, end: (t?: number) => number): string {
  const x1 = x(bar.start);
  const x2 = Math.max(x(end(bar.end)), x1 + 2);
  const w = x2 - x1;
  const took = formatDuration(end(bar.end) - bar.start);
  const state = bar.outcome === 'probed' ? 'verified by probe' : bar.outcome;
  const gate = bar.gate
    ? bar.gate.approved === undefined
      ? ', gate waiting'
      : `, gate ${bar.gate.approved ? 'approved' : 'declined'} by ${bar.gate.by}`
    : '';
  const title = `${bar.host} ${bar.short} [${bar.kind}] ${state}${bar.attempt > 1 ? ` (attempt ${bar.attempt})` : ''}, ${took}${gate}${bar.error ? `\n${bar.error.split('\n')[0]}` : ''}`;
  const parts = [
    `<g class="g-bar g-${bar.outcome}${bar.gate ? ' g-is-gate' : bar.waitStart !== undefined ? ' g-waited' : ''}" data-step="${escapeHtml(bar.id)}" data-attempt="${bar.attempt}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<rect x="${f(x1)}" y="${y}" width="${f(w)}" height="${BAR_H}" rx="2"/>`,
  ];
  if (bar.waitStart !== undefined && bar.outcome !== 'failed') {
    const wx = Math.max(x(bar.waitStart), x1);
    if (x2 - wx >= 1)
      parts.push(
        `<rect x="${f(wx)}" y="${y}" width="${f(x2 - wx)}" height="${BAR_H}" rx="2" class="${bar.gate ? 'g-wait g-gate-wait' : 'g-wait'}"/>`,
      );
  }
  if (bar.outcome === 'failed') parts.push(`<text x="${f(x2 + 2)}" y="${y + 15}" class="g-x">✗</text>`);
  const label = bar.short.replace(/^[^/]*\//, '');
  if (w > label.length * 6.6 + 8)
    parts.push(`<text x="${f(x1 + 4)}" y="${y + 14}" class="g-label">${escapeHtml(label)}</text>`);
  parts.push('</g>');
  return parts.join('');
}

function undoBar(undo: UndoBar, y: number, x: (t: number) => number, end: (t?: number) => number): string {
  const x1 = x(undo.start);
  const x2 = Math.max(x(end(undo.end)), x1 + 2);
  const title = `${undo.host} undo ${undo.short}: ${undo.outcome}, ${formatDuration(end(undo.end) - undo.start)}${undo.error ? `\n${undo.error}` : ''}`;
  return [
    `<g class="g-undo g-undo-${undo.outcome}" data-step="${escapeHtml(undo.id)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<rect x="${f(x1)}" y="${y}" width="${f(x2 - x1)}" height="${UNDO_H}" rx="1"/>`,
    `<text x="${f(x1 - 9)}" y="${y + 8}" class="g-u">↶</text>`,
    '</g>',
  ].join('');
}

function f(n: number): string {
  return n.toFixed(1);
}

const GANTT_CSS = `
.gantt{font:11px system-ui,-apple-system,"Segoe UI",sans-serif;background:#fff;max-width:100%;height:auto}
.gantt .g-row{fill:#fff}.gantt .g-odd{fill:#f6f8fa}
.gantt .g-grid{stroke:#e3e6ea;stroke-width:1}
.gantt .g-axis text{fill:#6a737d}
.gantt .g-host{font-weight:600;font-size:12px;fill:#24292e}
.gantt .g-failed,.gantt .g-aborted{fill:#b31d28}
.gantt .g-sub{fill:#6a737d;font-size:10px}
.gantt .g-phase{stroke:#8a63d2;stroke-dasharray:3 3}
.gantt .g-phase-label{fill:#6f42c1;font-size:10px}
.gantt .g-bar rect{fill:#4a90d9;stroke:#2c6cb0;stroke-width:.5}
.gantt .g-bar.g-succeeded rect{fill:#2ea44f;stroke:#22863a}
.gantt .g-bar.g-probed rect{fill:#9be9a8;stroke:#2ea44f}
.gantt .g-bar.g-running rect{fill:#4a90d9}
.gantt .g-bar.g-failed rect{fill:#d73a49;stroke:#b31d28}
.gantt .g-bar.g-retried rect{fill:#f0883e;stroke:#c9510c}
.gantt .g-bar rect.g-wait{fill:url(#g-hatch);stroke:#2c6cb0}
.gantt .g-bar.g-succeeded rect.g-wait{fill:url(#g-hatch-ok);stroke:#22863a}
.gantt .g-bar rect.g-gate-wait,.gantt .g-bar.g-succeeded rect.g-gate-wait{fill:url(#g-gate);stroke:#b08800}
.gantt .g-x{fill:#b31d28;font-weight:700;font-size:13px}
.gantt .g-label{fill:#fff;font-size:10px;pointer-events:none;paint-order:stroke;stroke:rgba(0,0,0,.35);stroke-width:2px}
.gantt .g-is-gate .g-label,.gantt .g-waited .g-label,.gantt .g-probed .g-label{fill:#1b1f23;stroke:rgba(255,255,255,.9);stroke-width:3px}
.gantt .g-undo rect{fill:#8a63d2}
.gantt .g-undo-failed rect{fill:#b31d28}
.gantt .g-undo-running rect{fill:#b392f0}
.gantt .g-u{fill:#6f42c1;font-size:10px}
.gantt .g-now{stroke:#e36209;stroke-width:1.5}
`
  .replace(/\n/g, '')
  .trim();
