/**
 * What `cutover import` builds before writing YAML: phases of step drafts, and one record per
 * command of the document saying what became of it (the report is a view of these records).
 */
import type { StepKindName, StepParamsInput } from '../steps/index.js';
import type { DocHosts } from './hosts.js';
import type { ParamDraft, SecretDraft } from './placeholders.js';

/**
 * A step kind with its params, before ids and comments. Typed against the step-kind registry:
 * `kind` is a registered kind and `params` that kind's YAML params, one union member per kind.
 * Example: `{ kind: 'service.stop', params: { unit: 'nginx' }, idHint: 'stop-nginx', todo: [] }`.
 */
export type StepSpec<K extends StepKindName = StepKindName> = K extends StepKindName
  ? {
      kind: K;
      params: StepParamsInput<K>;
      /** Words for the step id, e.g. `stop-apigateway`; made unique in the phase. */
      idHint: string;
      /** Notes for a person, written as the step's `todo:` (a load warning until removed). */
      todo: string[];
      /** Common step fields such as `{ retries: 5, retry_delay: '2s' }`. */
      extra?: StepFields;
    }
  : never;

/** The common step fields a draft may set besides the kind's params. Example: `{ retries: 5, retry_delay: '2s' }`. */
export interface StepFields {
  /** The document ran the command with `sudo`: the step runs through sudo too. */
  become?: boolean;
  retries?: number;
  retry_delay?: string;
  timeout?: string;
}

/** A step of the draft. Example: `{ id: 'stop-java', kind: 'process.stop', line: 17, recognised: true, quotes: ['f.txt:16 $ ps -ef | grep java', ...] }`. */
export type StepDraft = StepSpec & StepPlace;

/** Where a draft step sits: its id, source line, and the quotes above it. */
export interface StepPlace {
  id: string;
  /** The document line it comes from (`source: FILE:LINE`). */
  line: number;
  /** False when no recogniser knew the command (it became `shell.run` with a TODO). */
  recognised: boolean;
  /** Comment lines above the step: the document's commands it covers, as `FILE:LINE $ command`. */
  quotes: string[];
  /** Set on copies made for "repeat item 5": the phase the step was copied from. */
  copiedFrom?: string;
  /** The hosts the text right before its block names ("On `lb-01`:"), when that is not the section's first block. */
  runsOn?: { hosts: string[]; line: number };
}

/** One line of comments or one step, in document order. */
export type PhaseEntry = { comment: string[] } | { step: StepDraft };

/** A phase of the draft: one section of the document. Example: `{ id: '2-1-ecsc', name: '2.1 ecsc服务', hosts: ['ecsc-1', 'ecsc-2'], entries }`. */
export interface PhaseDraft {
  id: string;
  name: string;
  /** Line of the heading or numbered item. */
  line: number;
  /** Section number (`2.1`, `5`), used by "repeat item 5". */
  number?: string;
  /** Host names in run order, or 'all'. */
  hosts: string[] | 'all';
  /** Why the hosts need a person's check (a `# TODO` above `hosts:`). */
  hostsTodo?: string;
  /** Comment lines above the phase (prose of sections without commands before it). */
  before: string[];
  entries: PhaseEntry[];
}

/** What became of a command. `step`: it is (part of) steps; `folded`: it shapes other steps (cd, ps | grep); `covered`: no step is needed (a TODO comment says why). */
export type Outcome = 'step' | 'folded' | 'covered';

/** One command of the document and its fate. Example: `{ line: 17, text: 'kill -9 <PID>', outcome: 'step', steps: ['2-1-ecsc/stop-java'], kinds: ['process.stop'], recognised: true, why: '...' }`. */
export interface CommandRecord {
  line: number;
  /** The command as written (literal secrets replaced by ***). */
  text: string;
  outcome: Outcome;
  /** `phase/step` ids of the steps made from it (for folded commands: the steps it shaped). */
  steps: string[];
  kinds: string[];
  recognised: boolean;
  why: string;
  todo: string[];
}

/** A prose line that produced something: a step, hosts, a repeat. Example: `{ line: 40, text: '...重复以上步骤', effect: 'phase 2-1-ecsc also runs on ecsc-2' }`. */
export interface ProseRecord {
  line: number;
  text: string;
  effect: string;
}

/** Everything an import produced. Example: `importMarkdown(text, 'seed.md').yaml` is the draft runbook. */
export interface ImportResult {
  /** The document name used in `source:` (its base name). */
  file: string;
  yaml: string;
  phases: PhaseDraft[];
  commands: CommandRecord[];
  prose: ProseRecord[];
  params: ParamDraft[];
  secrets: SecretDraft[];
  /** The hosts the document names (tables, text), with addresses and the order it states: hints for the inventory. */
  hosts: DocHosts;
}
