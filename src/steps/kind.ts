import type { z } from 'zod';
import type { Command } from '../shell/command.js';
import type { Word } from '../shell/word.js';

/**
 * What a planner knows about where it runs: its own host only (never batches or other hosts,
 * except a neighbour the engine picked and passed in params). Example:
 * `{ host: { name: 'web', address: '10.0.0.10', roles: ['web'], vars: {} }, runDir: '/var/tmp/cutover/r1', controllerDir: '/srv/rb' }`.
 */
export interface StepContext {
  host: { name: string; address: string; roles: readonly string[]; vars: Readonly<Record<string, unknown>> };
  /** A per-run folder on the target host for backups of edited files and marks. */
  runDir: string;
  /** The folder of the runbook on the controller; relative local paths resolve against it. */
  controllerDir: string;
  /** The step's id, unique in the plan (used to name per-step files under runDir). */
  stepId: string;
  /** sha256 of the controller files this step reads (see `StepKind.localFiles`), computed by compile. */
  localSha256: Readonly<Record<string, string>>;
  /** For a wait.log without its own `since`: the runbook id of the step its lines count from (compile decides). */
  since?: string;
}

export type Capture = { as: string } | { keyValues: true };

/** Pure text transforms the engine applies to a fetched file (see src/steps/edits). */
export type EditSpec =
  | { editor: 'yaml'; ops: readonly YamlOp[] }
  | { editor: 'nginx'; locations: readonly string[]; upstream: string }
  /** A balancer's `upstream NAME { server ADDR …; }`: mark the server down, or not. */
  | { editor: 'nginx-upstream'; upstream: string; server: string; down: boolean }
  | { editor: 'text'; ops: readonly TextOp[] };

export type YamlOp =
  | { op: 'set'; key: string; value: unknown; comment?: string }
  | { op: 'delete'; key: string };

/**
 * One edit of a text file (see src/steps/edits/lines.ts, keyvalue.ts, xml.ts). Example:
 * `{ op: 'replace', pattern: '^port=.*', with: 'port=8081', all: false, allowNoMatch: false }`.
 */
export type TextOp =
  /** sed's `s/PATTERN/WITH/[g]` on every line (the line terminator is not part of a line). */
  | { op: 'replace'; pattern: string; with: string; all: boolean; allowNoMatch: boolean }
  /** sed's `/PATTERN/d`: every line the pattern matches is removed with its terminator. */
  | { op: 'delete'; pattern: string; allowNoMatch: boolean }
  /** `key=value` in a .properties, .ini (key in `section`, '' for none) or .env file; `value` is written as is. */
  | { op: 'set'; format: KeyValueFormat; key: string; section?: string; value: string }
  /** An attribute of the one element `element` (a path like `Server/Service/Connector[@port='8080']`) in an XML file. */
  | { op: 'xml'; element: string; attribute: string; value: string };

/** The `key=value` dialects text.edit knows. */
export type KeyValueFormat = 'properties' | 'ini' | 'env';

/** A wait condition; the engine polls it with its one wait primitive until it holds. */
export type WaitCondition =
  | {
      /** New lines of a log file since `since` (a mark the engine took before the triggering step). */
      kind: 'log';
      path: Word;
      pattern: string;
      failPatterns: readonly string[];
      /** Id of the step before which the log offset was recorded; lines before it never match. */
      since: string;
      guard?: WaitGuard;
    }
  | {
      kind: 'command';
      cmd: Command;
      description: string;
      /** Also required: the stdout (final line breaks dropped) matches this regex. */
      stdoutPattern?: string;
      /** With stdoutPattern: any exit status counts (`grep -c` prints 0 and exits 1). */
      anyExit?: boolean;
      /**
       * The command itself waits on the host for a change (up to `capSec`) before it says "not
       * yet", and its last line says how: `waited: inotifywait` (ask again at once) or
       * `waited: polled` (ask again after a short pause). Example: `{ capSec: 5 }` (wait.file).
       */
      hostWaits?: { capSec: number };
    }
  | {
      kind: 'http';
      request: HttpRequestSpec;
      expectStatus: readonly number[];
      bodyPattern?: string;
      guard?: WaitGuard;
    };

/** Run on the host each round of a wait: exit 0 while what it waits for lives, else 1 with the reason on stderr. */
export interface WaitGuard {
  cmd: Command;
  description: string;
}

export interface HttpRequestSpec {
  url: string;
  method: string;
  headers: Readonly<Record<string, Word>>;
  body?: Word;
  /** Skip TLS verification (self-signed lab/real certs); shown in the plan. */
  insecure: boolean;
}

/**
 * One thing a step does. Step kinds return these; the engine executes them through a
 * Transport. All are data, so a plan can be printed, hashed and diffed.
 */
export type Action =
  /**
   * Run a command; it fails unless the exit code is in okCodes (default [0]). `capture` records
   * outputs for the journal and the compensation: `{ as: name }` stores the trimmed stdout,
   * `{ keyValues: true }` stores every stdout line of the form `key=value`.
   */
  | {
      type: 'exec';
      cmd: Command;
      okCodes?: readonly number[];
      capture?: Capture;
      description?: string;
      /** Run on this inventory host instead of the step's own (a load balancer in front of it). */
      on?: string;
    }
  /** Copy a controller file to the host (tmp + rename), then verify its sha256 on the host. */
  | { type: 'put'; localPath: string; remotePath: Word; mode?: string }
  /**
   * Fetch a host file, apply a pure edit, show the diff; back up the original under `backupPath`
   * (byte-identical), replace atomically, run `validate` and restore the original if it fails.
   */
  | {
      type: 'edit';
      path: Word;
      spec: EditSpec;
      backupPath: string;
      validate?: Command;
      /** Edit the file on this inventory host (a balancer); its outputs are then `backup_<host>`, `path_<host>`. */
      on?: string;
      /**
       * Where the engine writes the sha256 of the file as the edit left it (a probe compares it).
       * With it, a re-run applies the edit to the first original again, never to its own output.
       */
      resultPath?: string;
    }
  /** Poll until the condition holds, with the step's timeout; failPatterns end it at once. */
  | { type: 'wait'; condition: WaitCondition; intervalMs?: number; on?: string }
  /** An HTTP request from the controller. */
  | { type: 'http'; request: HttpRequestSpec; expectStatus: readonly number[]; capture?: string }
  /** Ask the operator; `--yes` alone never approves it. */
  | { type: 'confirm'; message: string };

/**
 * A read-only check whose exit code says whether the step's effect is already in place:
 * 0 = done, 1 = not done, anything else = cannot tell. Used by `plan --probe` and by `resume`.
 */
export interface Probe {
  cmd: Command;
  /** What "done" means, for the plan and status views. */
  description: string;
}

/** What one step does on one host: the actions in order, and how to see whether it is done. */
export interface StepPlan {
  actions: readonly Action[];
  probe?: Probe;
  /** Effects the planner cannot predict (e.g. what a script does), shown as such in `plan`. */
  unpredictable?: string;
}

/**
 * A step kind (`domain.verb`): a pure planner from typed params to actions, its probe, and its
 * compensation. No I/O. Example: `serviceStop.plan({ unit: 'nginx' }, ctx)`.
 */
export interface StepKind<P = unknown> {
  name: string;
  /** One line for `cutover docs`. */
  summary: string;
  params: z.ZodType<P>;
  plan(params: P, ctx: StepContext): StepPlan;
  /**
   * The undo, from the params and the outputs the step recorded when it ran (e.g. the
   * resolved backup path). Must be safe when the effect is partial or absent; returns [] when
   * there is nothing to undo. Omitted means the step changes nothing that needs undoing.
   */
  compensate?(params: P, outputs: Readonly<Record<string, string>>, ctx: StepContext): readonly Action[];
  /**
   * One line of intent for the plan summary: what the step changes and its undo, in words. Example:
   * `{ does: 'stop comindware (waits for the state)', undo: 'start it again if it was running' }`.
   */
  intent?(params: P): { does: string; undo?: string };
  /** Controller files the step reads (resolved against ctx.controllerDir); compile hashes them into the plan. */
  localFiles?(params: P): string[];
  /** True for kinds that only read (allowed in preflight). */
  readOnly?: boolean;
  /**
   * Whether the step undoes itself with these params (default: the kind has a compensation). A step
   * that does not is reversible only through a `backup.copy` before it: `--only`/`--from` keep them
   * together. Example: shell.run -> `p.undo !== undefined`.
   */
  ownUndo?(params: P): boolean;
  /** Paths the step writes under, when it can say (what a backup before it must cover); undefined: it cannot tell. Example: archive.extract -> `[dest]`. */
  writesUnder?(params: P): string[] | undefined;
  /**
   * Applying it again after an interrupted attempt does what applying it once does (an edit keeps
   * the very first original and re-applies the same change): resume re-runs it without asking.
   */
  rerunSafe?: boolean;
  /** For kinds that only read with some params (http.request with GET): decides per step. See `isReadOnly`. */
  readOnlyFor?(params: P): boolean;
}

/** Whether a step only reads: its kind is read-only, or says so for these params. Example: `isReadOnly(httpRequest, { method: 'GET', ... })` -> true. */
export function isReadOnly<P>(kind: StepKind<P>, params: P): boolean {
  return kind.readOnly === true || kind.readOnlyFor?.(params) === true;
}

/**
 * Helper so each kind file keeps its param type inferred, and its schema's own type (so the
 * registry can say what a kind's params look like in YAML: `z.input<typeof backupCopy.params>`).
 */
export function defineKind<S extends z.ZodType>(
  kind: StepKind<z.output<S>> & { params: S },
): StepKind<z.output<S>> & { params: S } {
  return kind;
}

/** The first line of a script, shortened for one-line views. Example: `firstLine('a\nb')` -> `a …`. */
export function firstLine(script: unknown, max = 60): string {
  const text = String(script).trim();
  const first = text.split('\n')[0] ?? '';
  const cut = first.length > max ? `${first.slice(0, max - 1)}…` : first;
  return `\`${cut}${cut === first && first !== text ? ' …' : ''}\``;
}
