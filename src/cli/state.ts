import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { FileJournal } from '../journal/file-store.js';
import type { Redactor } from '../shell/secret.js';

/**
 * What the journal views (`runs`, `status`, `report`, `serve`) need: the global options and the
 * state folder. Kept apart from `context.ts` (runbook, inventory, compile, transports) so those
 * commands start without loading any of it. Example: `openJournal(cmd.optsWithGlobals())`.
 */
export interface GlobalOptions {
  stateDir?: string;
  json?: boolean;
  /**
   * How many times `-v` was given: 1 commands in full (plan: the exact commands); 2 also every
   * command on every host (probes, marks, polls) with its exit code and output, on stderr, and on a
   * terminal the commands and output stay on screen; 3 also OpenSSH's `-v` on stderr.
   */
  verbose?: number;
  /** `--connect-concurrency N`: connections set up at once (default $CUTOVER_CONNECT_CONCURRENCY, else 10). */
  connectConcurrency?: string;
  /** `--keep-open N`: hosts not in flight that keep their connection (default $CUTOVER_KEEP_OPEN, else 100). */
  keepOpen?: string;
  /** `--ssh-config FILE`: the ssh config ssh reads (`ssh -F`). */
  sshConfig?: string;
  /** `-K`: prompt once for the sudo password. */
  askBecomePass?: boolean;
  /** `--become-password-file FILE`: the sudo password's file. */
  becomePasswordFile?: string;
}

/** The state folder: `--state-dir`, else $CUTOVER_STATE_DIR, else `.cutover`. Example: `stateDir({})`. */
export function stateDir(opts: GlobalOptions): string {
  return resolve(opts.stateDir ?? process.env.CUTOVER_STATE_DIR ?? '.cutover');
}

/** The state folder's journal. Example: `openJournal(global).listRuns()`. */
export function openJournal(opts: GlobalOptions, redactor?: Redactor): FileJournal {
  return new FileJournal(stateDir(opts), redactor);
}

/** The run named, or the latest run of the state folder (said on stderr). */
export function runOrLatest(given: string | undefined, global: GlobalOptions, command: string): string {
  if (given) return given;
  const runs = openJournal(global).listRuns();
  const latest = runs[runs.length - 1];
  if (!latest)
    throw new UsageError(
      `no runs in ${stateDir(global)} for \`cutover ${command}\``,
      'Start one with `cutover apply`, or pass --state-dir where the runs are.',
    );
  process.stderr.write(`cutover ${command}: run ${latest} (the latest in ${stateDir(global)})\n`);
  return latest;
}
