/**
 * `cutover import`: a Markdown runbook -> a draft cutover runbook. Sections (headings, or
 * numbered items) become phases, prose becomes comments, each command of a code block becomes
 * steps (or shapes them: `cd`, `ps | grep`), and every command is accounted for in `commands`.
 * Pure: text in, text and records out. The import is a fold over the sections (section.ts folds
 * each one's blocks); each function takes the import so far and returns the next.
 */
import { InputError } from '../errors.js';
import { draftYaml } from './draft.js';
import { parseBlocks, type Section, sections } from './markdown.js';
import type { ImportResult, PhaseDraft } from './model.js';
import { cleanProse, hasSteps, linkRestarts, notForward, withInitialHosts, withMoreHosts } from './phase.js';
import { Templater } from './placeholders.js';
import {
  comment,
  type Doc,
  EMPTY_IMPORT,
  foldSection,
  type ImportState,
  type Repeat,
  type SectionState,
} from './section.js';

export { patternOfSample } from './lookahead.js';

/**
 * Imports one Markdown runbook. `file` is the name written in `source: FILE:LINE` (usually the
 * base name). Throws InputError when the document has no command at all.
 * Example: `importMarkdown(readFileSync('seed.md', 'utf8'), 'seed.md').yaml`.
 */
export function importMarkdown(text: string, file: string): ImportResult {
  const doc: Doc = { file, sections: sections(parseBlocks(text)), templater: new Templater() };
  const state = doc.sections.reduce(
    (s, section, i) => finishSection(doc, foldSection(doc, s, section, i), section, i),
    EMPTY_IMPORT,
  );
  if (state.phases.length === 0) {
    throw new InputError(
      [
        {
          file,
          line: 1,
          col: 1,
          path: '',
          message: 'no shell command found in fenced or indented code blocks; there is nothing to import',
          severity: 'error',
        },
      ],
      'Put the commands of the runbook in code blocks (``` or 4-space indented), then run cutover import again.',
    );
  }
  return resultOf(doc, state);
}

function resultOf(doc: Doc, state: ImportState): ImportResult {
  const result = {
    file: doc.file,
    phases: state.phases.map(linkRestarts),
    commands: [...state.commands],
    prose: [...state.prose],
    params: [...doc.templater.params.values()],
    secrets: [...doc.templater.secrets.values()],
  };
  const title = doc.sections.find((s) => s.depth === 1)?.title;
  return {
    ...result,
    yaml: draftYaml({
      ...result,
      ...(title ? { title } : {}),
      header: state.header,
      trailer: state.pendingBefore,
    }),
  };
}

/**
 * What the folded section becomes: a phase (hosts read, repeats applied) with the comments
 * waiting before it, or, with no step, comments for the next phase (or the header).
 */
function finishSection(doc: Doc, folded: SectionState, section: Section, index: number): ImportState {
  let s = folded;
  if (hasSteps(s.phase)) {
    const [phase, prose] = withInitialHosts(section, s.phase);
    s = { ...s, phase, prose: [...s.prose, ...prose] };
  }
  s = s.repeats.reduce((acc, repeat) => applyRepeat(doc, acc, repeat), s);
  const { phase, repeats, ...rest } = s;
  if (hasSteps(phase))
    return {
      ...rest,
      phases: [...rest.phases, { ...phase, before: [...rest.pendingBefore] }],
      pendingBefore: [],
    };
  const comments = phase.entries.flatMap((e) => ('comment' in e ? e.comment : []));
  const heading = section.line > 0 && !comments.includes(section.raw) ? [section.raw] : [];
  const todo =
    section.number !== undefined &&
    section.depth === 0 &&
    repeats.length === 0 &&
    !notForward(doc.sections, index)
      ? [
          `TODO ${doc.file}:${section.line}: item ${section.number} gives no command ("${cleanProse(section.title)}"): if it is an action, add a step for it`,
        ]
      : [];
  const lines = [...heading, ...comments, ...todo];
  return section.line === 0 && rest.phases.length === 0
    ? { ...rest, header: [...rest.header, ...lines] }
    : { ...rest, pendingBefore: [...rest.pendingBefore, ...lines] };
}

/**
 * A repeat: "the steps above on X" widens this phase (or, when it has no steps, the one before);
 * "repeat item 5" copies that phase's steps into this one.
 */
function applyRepeat(doc: Doc, s: SectionState, repeat: Repeat): SectionState {
  const previous = s.phases.length - 1;
  const target: number | 'this' | undefined =
    repeat.ref === undefined
      ? hasSteps(s.phase)
        ? 'this'
        : previous >= 0
          ? previous
          : undefined
      : lastIndexOf(s.phases, (p) => p.number === repeat.ref);
  if (target === undefined) {
    return comment(s, [
      `TODO line ${repeat.line} repeats ${repeat.ref ? `item ${repeat.ref}` : 'the steps above'}, which has no steps in this draft: add them`,
    ]);
  }
  if (target === 'this' || (!hasSteps(s.phase) && target === previous)) {
    const phase = target === 'this' ? s.phase : (s.phases[target] as PhaseDraft);
    const wider = withMoreHosts(phase, repeat.hosts, repeat.line);
    const next =
      target === 'this'
        ? { ...s, phase: wider }
        : { ...s, phases: s.phases.map((p, i) => (i === target ? wider : p)) };
    const effect = `phase ${phase.id} also runs on ${repeat.hosts.length > 0 ? repeat.hosts.join(', ') : 'more hosts (not named)'}`;
    return { ...next, prose: [...next.prose, { line: repeat.line, text: repeat.text, effect }] };
  }
  const from = s.phases[target] as PhaseDraft;
  const next = comment(s, [
    `the steps of phase ${from.id} (${doc.file}:${from.line}) again, as line ${repeat.line} says`,
  ]);
  const copies = from.entries.flatMap((e) =>
    'step' in e ? [{ step: { ...structuredClone(e.step), quotes: [], copiedFrom: from.id } }] : [],
  );
  const hosts =
    repeat.hosts.length > 0
      ? { hosts: [...repeat.hosts] }
      : {
          hostsTodo: `line ${repeat.line} repeats phase ${from.id} on other hosts: which ones? The document says: "${cleanProse(repeat.text)}"`,
        };
  const phase = { ...next.phase, entries: [...next.phase.entries, ...copies], ...hosts };
  const effect = `phase ${phase.id} repeats the steps of phase ${from.id}`;
  return { ...next, phase, prose: [...next.prose, { line: repeat.line, text: repeat.text, effect }] };
}

function lastIndexOf<T>(items: readonly T[], test: (item: T) => boolean): number | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i] as T)) return i;
  return undefined;
}
