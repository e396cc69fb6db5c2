import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { FileJournal } from '../journal/file-store.js';
import type { Redactor } from '../shell/secret.js';
import { fileHistory, type RunHistory } from '../state/history.js';

/**
 * What the journal views (`runs`, `status`, `report`, `serve`) need: the global options and the
 * state folder. Kept apart from `context.ts` (runbook, inventory, compile, transports) so those
 * commands start without loading any of it. Example: `openJournal(cmd.optsWithGlobals())`.
 */
export interface GlobalOptions {
  stateDir?: string;
  /** `--state postgres://…`: the shared state (runs of every controller) besides the state folder. */
  state?: string;
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

/** The project config file, looked for from the working folder up (as git looks for .git). */
export const PROJECT_CONFIG = 'cutover.config.yml';

/**
 * The shared state's URL: `--state`, else $CUTOVER_STATE_URL, else `state:` in the nearest
 * cutover.config.yml; undefined means the state folder alone. Example: `stateUrl({ state: 'postgres://db/cutover' })`.
 */
export function stateUrl(opts: GlobalOptions, cwd = process.cwd()): string | undefined {
  const given = opts.state ?? process.env.CUTOVER_STATE_URL ?? fromConfig(cwd);
  if (given === undefined || given === '') return undefined;
  if (!/^postgres(ql)?:\/\//i.test(given))
    throw new UsageError(
      `--state ${given.replace(/:[^:@/]*@/, ':***@')}: expected a PostgreSQL URL (postgres://user@host:5432/database)`,
      'The local state folder is --state-dir; --state (or $CUTOVER_STATE_URL, or `state:` in cutover.config.yml) names a shared PostgreSQL database.',
    );
  return given;
}

function fromConfig(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, PROJECT_CONFIG);
    if (existsSync(file)) return configState(file, readFileSync(file, 'utf8'));
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * `state:` of a project config: a flat `key: value` file, read without a YAML library so the
 * journal views stay light. Other keys are refused so a typo is not ignored.
 * Example: `configState('cutover.config.yml', 'state: postgres://db/cutover\n')` -> 'postgres://db/cutover'.
 */
export function configState(file: string, text: string): string | undefined {
  let state: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\s+#.*$/, '').trimEnd();
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = /^state:\s*(?:"([^"]*)"|'([^']*)'|(\S+))$/.exec(line);
    if (!m)
      throw new UsageError(
        `${file}:${i + 1}:1: expected \`state: postgres://user@host/database\` (the only setting of a project config), got: ${line.replace(/:[^:@/\s]*@/, ':***@')}`,
        'Fix or remove the line; the shared state can also be given with --state or $CUTOVER_STATE_URL.',
      );
    state = m[1] ?? m[2] ?? m[3];
  }
  return state;
}

/**
 * Where the journal views read runs: the shared state when one is named (every controller's
 * runs), else the state folder. Example: `const history = await openHistory(global)`.
 */
export async function openHistory(opts: GlobalOptions): Promise<RunHistory> {
  const url = stateUrl(opts);
  if (!url) return fileHistory(stateDir(opts));
  const { openSharedState } = await import('../state/pg/open.js');
  const { sharedHistory } = await import('../state/pg/history.js');
  return sharedHistory(await openSharedState(url));
}

/** The state folder's journal. Example: `openJournal(global).listRuns()`. */
export function openJournal(opts: GlobalOptions, redactor?: Redactor): FileJournal {
  return new FileJournal(stateDir(opts), redactor);
}

/** The run named, or the latest run of the history (said on stderr). */
export async function runOrLatest(
  given: string | undefined,
  history: RunHistory,
  command: string,
): Promise<string> {
  if (given) return given;
  const runs = await history.listRuns();
  const latest = runs[runs.length - 1];
  if (!latest)
    throw new UsageError(
      `no runs in ${history.where} for \`cutover ${command}\``,
      'Start one with `cutover apply`, or pass --state-dir (or --state) where the runs are.',
    );
  process.stderr.write(`cutover ${command}: run ${latest} (the latest in ${history.where})\n`);
  return latest;
}
