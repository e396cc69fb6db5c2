import type { JournalEvent } from '../journal/events.js';
import { formatEvent, wantsColor } from './line-log.js';
import { LiveProgress, type TtyStream } from './tty.js';

/**
 * Prints a run's events as they happen: call it with each event; `pause()` around a prompt;
 * `close()` when the run is over. Example: `const print = createEventPrinter({ json: false }); print(e); print.close();`
 */
export interface EventPrinter {
  (event: JournalEvent): void;
  /** Stops live redrawing until the returned function is called (a terminal prompt is shown). */
  pause(): () => void;
  /** The run's earlier events (resume, rollback): the live view starts from them; nothing is printed. */
  history(events: readonly JournalEvent[]): void;
  close(): void;
}

/** How to print. Example: `{ json: false, verbose: false, stream: process.stdout }`. */
export interface PrinterOptions {
  json?: boolean;
  verbose?: boolean;
  /** `-vv`: on a terminal, each command and its output stay on screen (the line log always shows them). */
  output?: boolean;
  stream?: TtyStream & { isTTY?: boolean };
}

/**
 * `--json`: one event per line; a terminal (stdout is a TTY): the live per-host view; anything else
 * (CI, pipes, files): the timestamped host-prefixed line log, with no control codes.
 * Example: `createEventPrinter({ stream: process.stdout })`.
 */
export function createEventPrinter(opts: PrinterOptions = {}): EventPrinter {
  const stream = opts.stream ?? process.stdout;
  const resume = () => () => undefined;
  const nothing = () => undefined;
  if (opts.json) {
    return Object.assign((e: JournalEvent) => void stream.write(`${JSON.stringify(e)}\n`), {
      pause: resume,
      history: nothing,
      close: nothing,
    });
  }
  const color = wantsColor(stream as NodeJS.WriteStream);
  if (stream.isTTY && process.env.TERM !== 'dumb') {
    const live = new LiveProgress(stream, {
      color,
      verbose: opts.verbose ?? false,
      output: opts.output ?? false,
    });
    return Object.assign((e: JournalEvent) => live.onEvent(e), {
      pause: () => live.pause(),
      history: (events: readonly JournalEvent[]) => live.history(events),
      close: () => live.close(),
    });
  }
  return Object.assign(
    (e: JournalEvent) => {
      for (const line of formatEvent(e, { color, verbose: opts.verbose ?? false })) stream.write(`${line}\n`);
    },
    { pause: resume, history: nothing, close: nothing },
  );
}
