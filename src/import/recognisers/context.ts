/**
 * What a recogniser sees and what it answers: the context of one command (its folder, the
 * `ps | grep` before it, the messages and samples after it) and its recognition (steps, a
 * folder, a grep, or nothing to do). Recognisers build step drafts with `draft`, typed against
 * the step-kind registry, so a kind or param that does not exist is a compile error.
 */
import type { StepKindName, StepParamsInput } from '../../steps/index.js';
import type { StepFields, StepSpec } from '../model.js';
import type { Templater } from '../placeholders.js';
import type { ShellWord, SimpleCommand } from '../shell-words.js';

/** The folder commands run in. Example: `{ path: '/home/schedule', line: 97, from: 'cd', sameSection: true }`. */
export interface Cwd {
  /** Template text of an absolute folder. */
  path: string;
  line: number;
  /** `cd` in a code block, or a folder named in the text before the block. */
  from: 'cd' | 'text';
  sameSection: boolean;
}

/** A message to wait for after `tail -f`. Example: `{ pattern: 'Skipping rebalancing \\(nothing scheduled\\)', line: 85, guessed: false }`. */
export interface LogMessage {
  pattern: string;
  line: number;
  /** What it was taken from, for the report. */
  from: string;
  /** True when the pattern is a guess a person must check. */
  guessed: boolean;
}

/** A backup made earlier in the draft, so its restore is recognised. Example: `{ ref: '2-1-ecsc/backup-ecsc', src: '/home/ecsc', dest: "/home/ecsc_{{ host.date('%Y%m%d') }}" }`. */
export interface BackupRef {
  ref: string;
  src: string;
  dest: string;
}

/** A code block showing a file's content. Example: `{ file: '/etc/my.cnf', line: 12, adds: false, lang: 'ini', lines: [...] }`. */
export interface FileSampleBlock {
  /** The file as the text names it. */
  file: string;
  /** The line of the text that says to edit it. */
  line: number;
  adds: boolean;
  lang: string;
  lines: readonly { line: number; text: string }[];
}

/** What a recogniser may look at. Example: see `recognise`. */
export interface RecogniseContext {
  line: number;
  templater: Templater;
  cwd?: Cwd;
  /** The pattern of the `ps | grep X` right before, which a `kill <PID>` refers to. */
  grep?: { pattern: string; line: number };
  /** The message to wait for after this command (for `tail -f`). */
  message(): LogMessage | undefined;
  /** YAML sample blocks after this command in its section (for editor stubs). */
  yamlSamples(): { line: number; text: string }[];
  /** Blocks after this command showing the content of a file the text says to edit (for editor steps). */
  fileSamples?(): FileSampleBlock[];
  /** Absolute file paths the section's text names in inline code (`Edit \`/etc/shop/app.properties\``), for a relative file operand. */
  namedFiles: readonly { path: string; line: number }[];
  /** `key=value` the text says to set in the file it names (for a prose edit of a .properties/.ini/.env file). */
  assignments?: readonly { key: string; value: string; line: number }[];
  /** nginx locations named in the section's text (`location /async`). */
  locations: string[];
  /** True inside a section about rolling back. */
  inRollback: boolean;
  backups: readonly BackupRef[];
}

/** What became of a command. Example: `{ type: 'steps', steps: [serviceStop], recognised: true, why: 'systemctl stop' }`. */
export type Recognition =
  | { type: 'steps'; steps: StepSpec[]; recognised: boolean; why: string }
  /** `cd DIR`: the folder of the commands after it (undefined: a folder cutover cannot resolve). */
  | { type: 'cd'; path?: string; why: string }
  /** `ps ... | grep X`: what a following `kill <PID>` means. */
  | { type: 'grep'; pattern: string; why: string }
  /** No step is needed; a TODO comment says why (e.g. a rollback that `cutover rollback` does). */
  | { type: 'covered'; why: string };

/** One recogniser: undefined when the command is not its program (or a form of it that it cannot read). */
export type Recogniser = (
  cmd: SimpleCommand,
  words: ShellWord[],
  ctx: RecogniseContext,
) => Recognition | undefined;

/**
 * A step draft of kind `kind`, its params typed as that kind's YAML params.
 * Example: `draft('service.stop', { unit: 'nginx' }, 'stop nginx', [])`.
 */
export function draft<K extends StepKindName>(
  kind: K,
  params: StepParamsInput<K>,
  idHint: string,
  todo: string[],
  extra?: StepFields,
): StepSpec<K> {
  return { kind, params, idHint, todo, ...(extra ? { extra } : {}) } as StepSpec<K>;
}
