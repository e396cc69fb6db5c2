/**
 * Live terminal progress: one line per host (its current step, how long it has run, and for a
 * wait what it waits for and the last candidate line), redrawn in place under the lines that stay
 * (phases, failures, undos, gates). Completed steps collapse into the host's count; a summary
 * table closes the run.
 *
 * A small renderer of its own rather than listr2: listr2 runs tasks itself (a task is a function
 * it awaits), while here the engine runs the hosts and the UI only folds journal events; a
 * per-host line with a ticking clock and a wait's last log line is not a task title/output pair;
 * and a gate prompt must pause the live area, which listr2 does only through its prompt adapter
 * (enquirer, not installed).
 */
import type { JournalEvent } from '../journal/events.js';
import { formatDuration } from '../shared/duration.js';
import { formatEvent } from './line-log.js';
import { type HostView, RunViewBuilder } from './run-view.js';
import { summaryTable } from './summary.js';

/** Where the live view is drawn. Example: `process.stdout`. */
export interface TtyStream {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
}

/** Options of the live view. Example: `{ color: true, now: () => clock.now(), tickMs: 250 }`. */
export interface LiveProgressOptions {
  color: boolean;
  verbose?: boolean;
  /** `-vv`: commands and their output print above the live area, not only on the host's line. */
  output?: boolean;
  /** Time source for elapsed times; default Date.now. */
  now?: () => number;
  /** Redraw period while something runs (elapsed times, spinner); 0 = only on events. Default 250. */
  tickMs?: number;
}

/** Events whose lines stay above the live area; every other event only updates a host's line. */
const LASTING = new Set<JournalEvent['type']>([
  'run.started',
  'run.resumed',
  'run.replanned',
  'run.finished',
  'preflight.finished',
  'phase.started',
  'phase.finished',
  'host.finished',
  'step.failed',
  'host.unreachable',
  'host.unhealthy',
  'drain.routed',
  'compensation.started',
  'compensation.failed',
  'gate.pending',
  'gate.decided',
  'rollback.started',
  'rollback.finished',
  'abort.requested',
]);

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * The live per-host view for a terminal. Feed it every event; `pause()` while asking at the
 * terminal; `close()` at the end prints the summary. Example:
 * `const live = new LiveProgress(process.stdout, { color: true }); engine.onEvent = (e) => live.onEvent(e);`
 */
export class LiveProgress {
  readonly #out: TtyStream;
  readonly #opts: LiveProgressOptions;
  readonly #now: () => number;
  readonly #builder = new RunViewBuilder();
  #drawn = 0;
  #paused = 0;
  #held: string[] = [];
  #frame = 0;
  #timer?: NodeJS.Timeout;
  #pendingPaint?: NodeJS.Timeout;
  #closed = false;
  readonly #restoreCursor = () => this.#out.write('\x1b[?25h');

  constructor(out: TtyStream, opts: LiveProgressOptions) {
    this.#out = out;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#out.write('\x1b[?25l');
    // A Ctrl-C twice exits at once: the cursor must come back anyway.
    process.once('exit', this.#restoreCursor);
    const tick = opts.tickMs ?? 250;
    if (tick > 0) {
      this.#timer = setInterval(() => {
        this.#frame += 1;
        this.#paint();
      }, tick);
      this.#timer.unref();
    }
  }

  onEvent(e: JournalEvent): void {
    if (this.#closed) return;
    this.#builder.add(e);
    const lasting =
      LASTING.has(e.type) ||
      (this.#opts.output === true && (e.type === 'step.command' || e.type === 'step.output'));
    if (lasting && !(e.type === 'step.failed' && !e.final && !this.#opts.verbose)) {
      const lines = formatEvent(e, { color: this.#opts.color, verbose: this.#opts.verbose ?? false }).map(
        clean,
      );
      if (this.#paused) this.#held.push(...lines);
      else this.#print(lines);
    }
    // Bursts of output events coalesce into one redraw.
    this.#pendingPaint ??= setTimeout(() => {
      this.#pendingPaint = undefined;
      this.#paint();
    }, 30);
  }

  /** Folds a resumed run's earlier events into the view without printing them. */
  history(events: readonly JournalEvent[]): void {
    for (const e of events) this.#builder.add(e);
  }

  /** Clears the live area and stops drawing until the returned function is called (for prompts). */
  pause(): () => void {
    this.#paused += 1;
    this.#erase();
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      this.#paused -= 1;
      if (this.#paused === 0 && !this.#closed) {
        const held = this.#held;
        this.#held = [];
        this.#print(held);
      }
    };
  }

  /** Stops the live area and prints the summary table. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#pendingPaint) clearTimeout(this.#pendingPaint);
    this.#erase();
    const rest = this.#held;
    this.#held = [];
    const view = this.#builder.view;
    const summary = view ? ['', ...summaryTable(view, { color: this.#opts.color })] : [];
    this.#out.write([...rest, ...summary].map((l) => `${l}\n`).join(''));
    this.#restoreCursor();
    process.off('exit', this.#restoreCursor);
  }

  /** The live lines as they would be drawn now (without control codes). */
  lines(): string[] {
    const view = this.#builder.view;
    if (!view) return [];
    const now = this.#now();
    const width = Math.max(20, (this.#out.columns ?? 100) - 1);
    const nameW = Math.min(16, Math.max(...view.hosts.map((h) => h.name.length), 4));
    const running = view.hosts.filter((h) => h.status === 'running').length;
    const phase = view.phases.at(-1);
    const header = `${this.#c('1', `run ${view.run}`)} ${formatDuration(now - view.startedAt)}${phase ? ` · phase ${phase.id}` : ''} · ${running} running, ${view.hosts.filter((h) => h.status === 'succeeded' || h.status === 'idle').length}/${view.hosts.length} hosts done`;
    let hosts = view.hosts;
    const room = Math.max(3, (this.#out.rows ?? 40) - 3);
    let more = '';
    if (hosts.length > room) {
      // Too many hosts for the screen: the busy ones first, the rest as a count.
      const order = (h: HostView) => (h.status === 'running' ? 0 : h.status === 'failed' ? 1 : 2);
      const shown = [...hosts].sort((a, b) => order(a) - order(b)).slice(0, room - 1);
      more = `  … ${hosts.length - shown.length} more hosts`;
      hosts = view.hosts.filter((h) => shown.includes(h));
    }
    const lines = [header, ...hosts.map((h) => this.#hostLine(h, nameW, now)), ...(more ? [more] : [])];
    return lines.map((l) => fitWidth(l, width));
  }

  #hostLine(h: HostView, nameW: number, now: number): string {
    const name = h.name.length > nameW ? `${h.name.slice(0, nameW - 1)}…` : h.name.padEnd(nameW);
    const count = this.#c('2', `${h.done}/${h.total}`.padStart(5));
    const head = (icon: string) => `${icon} ${name} ${count}  `;
    const cur = h.current;
    switch (h.status) {
      case 'running': {
        if (!cur) return `${head(this.#c('36', this.#spin()))}${this.#c('2', 'between steps')}`;
        const elapsed = formatDuration(now - cur.since);
        if (cur.undoing) return `${head(this.#c('35', '↶'))}undoing ${cur.short} ${this.#c('2', elapsed)}`;
        let text = `${cur.short} ${this.#c('2', `[${cur.kind}]`)} ${elapsed}`;
        if (cur.gate)
          return `${head(this.#c('33', '?'))}${text}  ${this.#c('33', `approve: ${clean(cur.gate)}`)}`;
        if (cur.waiting) {
          text += `  waiting for ${clean(cur.waiting.what)}`;
          if (cur.waiting.lastLine !== undefined)
            text += ` · last: ${this.#c('2', clean(cur.waiting.lastLine))}`;
        }
        return `${head(this.#c('36', this.#spin()))}${text}`;
      }
      case 'pending':
        return `${head(this.#c('2', '·'))}${this.#c('2', 'waiting for its turn')}`;
      case 'idle':
        return `${head(this.#c('32', '✓'))}phase ${h.phase ?? ''} done${h.lastEnd && h.firstStart ? ` (${formatDuration(h.lastEnd - h.firstStart)})` : ''}; next phase later`;
      case 'succeeded':
        return `${head(this.#c('32', '✓'))}done${h.lastEnd && h.firstStart ? ` in ${formatDuration(h.lastEnd - h.firstStart)}` : ''}`;
      case 'failed':
      case 'aborted': {
        const failed = this.#builder.view?.bars
          .filter((b) => b.host === h.name && b.outcome === 'failed')
          .at(-1);
        const undo = h.undone ? `, ${h.undone} undone` : '';
        return `${head(this.#c('31', '✗'))}${h.status}${failed ? ` at ${failed.short}: ${clean(failed.error?.split('\n')[0] ?? '')}` : ''}${undo}`;
      }
      case 'rolled-back':
        return `${head(this.#c('35', '↶'))}rolled back (${h.undone} undone)`;
      case 'stopped':
        return `${head(this.#c('33', '■'))}stopped before its later phases`;
      case 'not-reached':
        return `${head(this.#c('2', '·'))}${this.#c('2', 'not reached')}`;
    }
  }

  #spin(): string {
    return SPINNER[this.#frame % SPINNER.length] as string;
  }

  #c(code: string, text: string): string {
    return this.#opts.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  #print(lines: string[]): void {
    if (lines.length === 0) return;
    this.#erase();
    this.#out.write(lines.map((l) => `${l}\n`).join(''));
    this.#paint();
  }

  #erase(): void {
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A\r\x1b[J`);
    this.#drawn = 0;
  }

  #paint(): void {
    if (this.#paused || this.#closed) return;
    const lines = this.lines();
    // One write per frame: erase and redraw together, so the terminal never shows a blank area.
    const erase = this.#drawn > 0 ? `\x1b[${this.#drawn}A\r\x1b[J` : '';
    this.#out.write(`${erase}${lines.map((l) => `${l}\n`).join('')}`);
    this.#drawn = lines.length;
  }
}

/** Control characters from hosts' output (escape sequences, tabs, CR) must not move the cursor. */
function clean(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f\x9b]/g, ' ')
    .replace(/\t/g, '  ')
    .replace(/\x1b/g, ' ');
}

/**
 * Cuts a line (which may hold SGR colour codes) to `width` terminal cells, so it never wraps and
 * the redraw can count lines. Example: `fitWidth('abcdef', 4)` -> `'abc…'`.
 */
export function fitWidth(line: string, width: number): string {
  const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
  if (visibleWidth(plain) <= width) return line;
  let cells = 0;
  let out = '';
  for (const part of line.split(/(\x1b\[[0-9;]*m)/)) {
    if (part.startsWith('\x1b[')) {
      out += part;
      continue;
    }
    for (const ch of part) {
      const w = cellWidth(ch.codePointAt(0) as number);
      // One cell stays free for the ellipsis.
      if (cells + w > width - 1) return `${out}…${/\x1b\[/.test(out) ? '\x1b[0m' : ''}`;
      out += ch;
      cells += w;
    }
  }
  return out;
}

/** Terminal cells of a text without control codes. Example: `visibleWidth('日本')` -> 4. */
export function visibleWidth(text: string): number {
  let cells = 0;
  for (const ch of text) cells += cellWidth(ch.codePointAt(0) as number);
  return cells;
}

/** Terminal cells of a code point: 0 for combining marks, 2 for East Asian wide and emoji, else 1. */
function cellWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}
