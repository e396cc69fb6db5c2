import type { StepRole } from '../plan/types.js';

/**
 * The journal's typed events. Everything else — status, resume, rollback, reports, the
 * dashboard — is a view of these. Example: `{ type: 'step.succeeded', step: 'upgrade/stop@web', host: 'web', outputs: {} }`.
 */
export type Outcome = 'succeeded' | 'failed' | 'aborted' | 'rolled-back';

export type JournalEventBody =
  | {
      type: 'run.started';
      planHash: string;
      runbook: string;
      inventory: string;
      cluster: string;
      params: Record<string, string>;
      operator: string;
      controller: string;
      hosts: string[];
      steps: { id: string; host: string; phase: string; kind: string; name: string }[];
    }
  | { type: 'run.resumed'; planHash: string; operator: string }
  | { type: 'run.finished'; outcome: Outcome; error?: string }
  | { type: 'preflight.started' }
  | { type: 'preflight.finished'; ok: boolean; error?: string }
  | { type: 'phase.started'; phase: string }
  | { type: 'phase.finished'; phase: string; outcome: Outcome }
  | { type: 'host.started'; phase: string; host: string }
  | { type: 'host.finished'; phase: string; host: string; outcome: Outcome }
  | {
      type: 'step.started';
      step: string;
      host: string;
      attempt: number;
      kind: string;
      name: string;
      /** Set on the steps the plan adds around a host's own (its drain). */
      role?: StepRole;
    }
  | { type: 'step.output'; step: string; host: string; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'step.command'; step: string; host: string; command: string }
  | { type: 'step.mark'; step: string; host: string; mark: LogMark }
  | { type: 'step.waiting'; step: string; host: string; what: string; lastLine?: string }
  | {
      type: 'step.succeeded';
      step: string;
      host: string;
      outputs: Record<string, string>;
      durationMs: number;
      via?: 'probe';
    }
  | {
      type: 'step.failed';
      step: string;
      host: string;
      error: string;
      attempt: number;
      final: boolean;
      outputs: Record<string, string>;
      lastLines?: string[];
      /** As on step.started (a drain that found no neighbour fails without starting). */
      role?: StepRole;
    }
  | { type: 'drain.routed'; host: string; neighbour: string; upstream: string; step: string }
  | { type: 'compensation.started'; step: string; host: string }
  | { type: 'compensation.succeeded'; step: string; host: string }
  | { type: 'compensation.failed'; step: string; host: string; error: string }
  | { type: 'gate.pending'; step: string; host: string; message: string }
  | { type: 'gate.decided'; step: string; host: string; approved: boolean; by: string }
  | { type: 'rollback.started'; operator: string }
  | { type: 'rollback.finished'; ok: boolean; error?: string }
  | { type: 'abort.requested'; by: string };

/** A log file position taken before the step that triggers the awaited lines. */
export interface LogMark {
  file: string;
  /** `device:inode`, to notice rotation. */
  inode: string;
  size: number;
}

export type JournalEvent = JournalEventBody & { seq: number; at: string; run: string };

/** Where events go: the embedded file store, PostgreSQL later, or memory in tests. */
export interface JournalStore {
  append(run: string, event: JournalEventBody): JournalEvent;
  read(run: string): JournalEvent[];
  listRuns(): string[];
}
