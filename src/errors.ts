/**
 * The one place for error types and exit codes. Every error names where it happened and ends
 * with what to do next. Example: `new InputError('runbook.yml:3:5: phases/0/steps/1: unknown step kind "sevice.stop"', 'Use one of: ...')`.
 */
export const ExitCode = {
  ok: 0,
  runFailed: 1,
  invalidInput: 2,
  lockHeld: 3,
  preflightFailed: 4,
  planMismatch: 5,
  aborted: 6,
  stateUnavailable: 7,
  bug: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class CutoverError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(
    message: string,
    /** What the operator should do next. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
  /** Message plus hint, as the CLI prints it. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

/** One problem in an input file, located at file:line:col and a path inside the document. */
export interface InputProblem {
  file: string;
  line: number;
  col: number;
  /** e.g. `phases/0/steps/2/service.stop/unit` */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export function formatProblem(p: InputProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** Invalid runbook, inventory, params or command line: nothing was changed anywhere. */
export class InputError extends CutoverError {
  readonly exitCode = ExitCode.invalidInput;
  constructor(
    readonly problems: InputProblem[],
    hint = 'Fix the input and run `cutover validate` again; nothing was changed on any host.',
  ) {
    super(
      problems
        .filter((p) => p.severity === 'error')
        .map(formatProblem)
        .join('\n') || 'invalid input',
      hint,
    );
  }
}

/** A usage error without a file position (unknown run id, missing flag). */
export class UsageError extends CutoverError {
  readonly exitCode = ExitCode.invalidInput;
}

/** Another run holds the cluster lock (the local lease file, or a host's lock folder). */
export class LockHeldError extends CutoverError {
  readonly exitCode = ExitCode.lockHeld;
  constructor(
    readonly holder: { owner: string; runId: string; expiresAt: string; pid?: number; hostname?: string },
    lockFile: string,
    /** For a host's lock: which host, and since when. */
    onHost?: string,
  ) {
    super(
      onHost
        ? `cluster is locked: ${onHost}; holder ${holder.owner}, run ${holder.runId}, lease until ${holder.expiresAt}`
        : `cluster is locked by ${holder.owner} (run ${holder.runId}, pid ${holder.pid ?? '?'} on ${holder.hostname ?? '?'}, lease until ${holder.expiresAt})`,
      onHost
        ? `Wait for that run to finish. If its controller is dead, \`cutover resume ${holder.runId}\` (with its state folder) takes the lock over; only if the run is abandoned, break it: cutover unlock -i INVENTORY --force (lock ${lockFile}).`
        : `Wait for that run to finish, or if it is dead, break the lock explicitly: cutover unlock --force (lock file ${lockFile}).`,
    );
  }
}

/** A preflight check failed: nothing was changed on any host. */
export class PreflightError extends CutoverError {
  readonly exitCode = ExitCode.preflightFailed;
}

/** `resume` or `apply --plan` with a plan whose hash differs from the journaled one. */
export class PlanMismatchError extends CutoverError {
  readonly exitCode = ExitCode.planMismatch;
}

/** A step failed on a host; the saga has run (or been attempted) for that host. */
export class StepFailedError extends CutoverError {
  readonly exitCode = ExitCode.runFailed;
  constructor(
    message: string,
    readonly host: string,
    readonly stepId: string,
    readonly detail: { command?: string; exitCode?: number; stderrTail?: string; lastLines?: string[] } = {},
    hint?: string,
  ) {
    super(message, hint);
  }
}

/** The local lab (`cutover lab`) could not start, stop or reach its hosts. */
export class LabError extends CutoverError {
  readonly exitCode = ExitCode.runFailed;
}

/** The operator aborted (gate declined, Ctrl-C, dashboard abort). */
export class AbortedError extends CutoverError {
  readonly exitCode = ExitCode.aborted;
}
