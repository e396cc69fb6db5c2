import type { JournalEvent } from '../journal/events.js';
import { formatDuration } from '../shared/duration.js';

export interface LineLogOptions {
  color: boolean;
  /** Show command output lines (default true). */
  output?: boolean;
  /** Show commands in full (default: cut to one screen line; the journal always has them whole). */
  verbose?: boolean;
  /** Time zone for timestamps; UTC keeps snapshots stable. */
  utc?: boolean;
}

/** True when colour is wanted: a TTY and no NO_COLOR (https://no-color.org). */
export function wantsColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

/**
 * The plain, host-prefixed line log: one timestamped line per event, no control codes unless
 * colour is on. Used when stdout is not a TTY (CI, pipes) and as the TTY fallback.
 * Example line: `03:00:01 web          ✓ upgrade/stop-gateway (0.3s)`.
 */
export function formatEvent(e: JournalEvent, opts: LineLogOptions): string[] {
  const c = colours(opts.color);
  const time = e.at.slice(11, 19);
  const host = 'host' in e ? e.host : '';
  const prefix = (h: string) => `${c.dim(time)} ${h.padEnd(14)} `;
  const step = 'step' in e ? shortStep(e.step) : '';
  switch (e.type) {
    case 'run.started':
      return [
        `${prefix('')}run ${e.run} started: ${e.steps.length} steps on ${e.hosts.length} hosts (plan ${e.planHash.slice(0, 12)})`,
      ];
    case 'run.resumed':
      return [`${prefix('')}run ${e.run} resumed by ${e.operator}`];
    case 'run.replanned':
      return [
        `${prefix('')}run ${e.run} replanned by ${e.operator}: plan ${e.previousHash.slice(0, 12)} -> ${e.planHash.slice(0, 12)}, ${e.kept.length} done step(s) kept as journaled`,
        ...e.changes.map((c) => `${prefix('')}  ${c}`),
      ];
    case 'run.finished':
      return [
        `${prefix('')}run ${e.run} ${e.outcome === 'succeeded' ? c.green(e.outcome) : c.red(e.outcome)}${e.error ? `: ${e.error}` : ''}`,
      ];
    case 'preflight.started':
      return [`${prefix('')}preflight`];
    case 'preflight.finished':
      return [`${prefix('')}preflight ${e.ok ? c.green('passed') : c.red('failed')}`];
    case 'phase.started':
      return [`${prefix('')}${c.bold(`phase ${e.phase}`)}`];
    case 'phase.finished':
      return [`${prefix('')}phase ${e.phase} ${e.outcome}`];
    case 'host.started':
      return [`${prefix(host)}${c.bold('started')} phase ${e.phase}`];
    case 'host.finished':
      return [
        `${prefix(host)}${e.outcome === 'succeeded' ? c.green('done') : c.red(e.outcome)} phase ${e.phase}`,
      ];
    case 'step.started':
      return [`${prefix(host)}▶ ${step} [${e.kind}]${e.attempt > 1 ? ` attempt ${e.attempt}` : ''}`];
    case 'step.command': {
      const text = opts.verbose ? e.command : oneLine(e.command, 110);
      return [`${prefix(host)}  ${c.dim(`$ ${text}`)}`];
    }
    case 'step.output':
      if (opts.output === false) return [];
      return e.text
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => `${prefix(host)}  ${c.dim('|')} ${l}`);
    case 'step.mark':
      return [];
    case 'step.waiting':
      return [`${prefix(host)}  … ${e.lastLine ? `last: ${e.lastLine}` : `waiting for ${e.what}`}`];
    case 'step.succeeded':
      return [
        `${prefix(host)}${c.green('✓')} ${step} (${e.via === 'probe' ? 'verified by probe' : formatDuration(e.durationMs)})`,
      ];
    case 'step.failed':
      return [
        `${prefix(host)}${c.red('✗')} ${step}: ${e.error.split('\n')[0]}${e.final ? '' : ' (will retry)'}`,
        ...(e.final ? (e.lastLines ?? []).map((l) => `${prefix(host)}  ${c.dim('|')} ${l}`) : []),
      ];
    case 'host.unreachable':
      return [`${prefix(host)}${c.red('unreachable')}: ${e.error}`];
    case 'host.unhealthy':
      return [
        `${prefix(host)}${c.red('down after its upgrade')}: ${e.url} answered ${e.seen} (phase ${e.phase})`,
      ];
    case 'drain.routed':
      return [`${prefix(host)}traffic routed to ${e.neighbour} (${e.upstream})`];
    case 'compensation.started':
      return [`${prefix(host)}↶ undoing ${step}`];
    case 'compensation.succeeded':
      return [`${prefix(host)}${c.green('↶')} undone ${step}`];
    case 'compensation.failed':
      return [`${prefix(host)}${c.red('↶ undo failed')} ${step}: ${e.error}`];
    case 'gate.pending':
      return [`${prefix(host)}${c.yellow('?')} gate ${step}: ${e.message}`];
    case 'gate.decided':
      return [`${prefix(host)}gate ${step} ${e.approved ? 'approved' : 'declined'} by ${e.by}`];
    case 'rollback.started':
      return [`${prefix('')}rollback started by ${e.operator}`];
    case 'rollback.finished':
      return [
        `${prefix('')}rollback ${e.ok ? c.green('finished') : c.red('incomplete')}${e.error ? `: ${e.error}` : ''}`,
      ];
    case 'abort.requested':
      return [`${prefix('')}${c.red('abort requested')} by ${e.by}`];
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s*\n\s*/g, '; ').replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function shortStep(id: string): string {
  return id.replace(/@[^@]*$/, '');
}

function colours(on: boolean) {
  const wrap = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { dim: wrap('2'), bold: wrap('1'), green: wrap('32'), red: wrap('31'), yellow: wrap('33') };
}
