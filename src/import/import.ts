/**
 * `cutover import`: a Markdown runbook -> a draft cutover runbook. Sections (headings, or
 * numbered items) become phases, prose becomes comments, each command of a code block becomes
 * steps (or shapes them: `cd`, `ps | grep`), and every command is accounted for in `commands`.
 * Pure: text in, text and records out. The import is a fold over the sections (section.ts folds
 * each one's blocks); each function takes the import so far and returns the next.
 */
import { InputError } from '../errors.js';
import { draftYaml } from './draft.js';
import { markFileSamples } from './file-sample.js';
import { parseBlocks, type Section, sections } from './markdown.js';
import type { ImportResult, PhaseDraft } from './model.js';
import { cleanProse, hasSteps, linkRestarts, notForward, withInitialHosts, withMoreHosts } from './phase.js';
import { docHosts, flagNamedHosts } from './hosts.js';
import { Templater } from './placeholders.js';
import { isElsewhereTitle, isRollbackTitle } from './prose.js';
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
  const forward = (title: string) => !isRollbackTitle(title) && !isElsewhereTitle(title);
  const blocks = markFileSamples(parseBlocks(text));
  const doc: Doc = {
    file,
    sections: sections(blocks, forward),
    templater: new Templater(),
    hosts: docHosts(blocks),
  };
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
  const flagged = flagNamedHosts(state.phases.map(linkRestarts), state.commands, doc.hosts);
  const result = {
    file: doc.file,
    phases: flagged.phases,
    commands: flagged.commands,
    prose: [...state.prose],
    params: [...doc.templater.params.values()],
    secrets: [...doc.templater.secrets.values()],
    hosts: doc.hosts,
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
    const [phase, prose] = withInitialHosts(section, s.phase, doc.hosts);
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
  if (repeat.ref !== undefined && repeat.to !== undefined) return applyRange(doc, s, repeat);
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
  const next = s;
  const note = {
    comment: [`the steps of phase ${from.id} (${doc.file}:${from.line}) again, as line ${repeat.line} says`],
  };
  // A copy's id must be unique in the phase it joins (which may hold steps, or copies, of its own).
  const taken = new Set(s.phase.entries.flatMap((e) => ('step' in e ? [e.step.id] : [])));
  const copies = from.entries.flatMap((e) => {
    if (!('step' in e)) return [];
    let id = e.step.id;
    for (let n = 2; taken.has(id); n++) id = `${e.step.id}-${n}`;
    taken.add(id);
    const { runsOn: _, ...step } = structuredClone(e.step);
    return [{ step: { ...step, id, quotes: [], copiedFrom: from.id } }];
  });
  // The copies stand where the line that asks for them stands, before the steps after it.
  const entries = next.phase.entries;
  const at = Math.min(repeat.at ?? entries.length, entries.length);
  const hosts =
    repeat.hosts.length > 0
      ? { hosts: [...repeat.hosts] }
      : {
          hostsTodo: `line ${repeat.line} repeats phase ${from.id} on other hosts: which ones? The document says: "${cleanProse(repeat.text)}"`,
        };
  const phase = {
    ...next.phase,
    entries: [...entries.slice(0, at), note, ...copies, ...entries.slice(at)],
    ...hosts,
  };
  const effect = `phase ${phase.id} repeats the steps of phase ${from.id}`;
  return { ...next, phase, prose: [...next.prose, { line: repeat.line, text: repeat.text, effect }] };
}

function lastIndexOf<T>(items: readonly T[], test: (item: T) => boolean): number | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i] as T)) return i;
  return undefined;
}

/**
 * "Repeat steps 2–6 on mq-02": items 2 to 6 are one host's procedure. When they are the last
 * phases, they become one phase that runs on the host they were written for, then on the hosts
 * named (one at a time, as the document says); otherwise their steps are copied here.
 */
function applyRange(doc: Doc, s: SectionState, repeat: Repeat): SectionState {
  const from = Number(repeat.ref);
  const to = Number(repeat.to);
  const inRange = (p: PhaseDraft) =>
    p.number !== undefined && /^\d+$/.test(p.number) && Number(p.number) >= from && Number(p.number) <= to;
  if (!(to > from) || to - from > 50) {
    return comment(s, [
      `TODO line ${repeat.line} repeats items ${repeat.ref}–${repeat.to}, which is no range of items: copy the steps it means here`,
    ]);
  }
  const first = s.phases.findIndex(inRange);
  const tail = first < 0 ? [] : s.phases.slice(first);
  if (first < 0 || hasSteps(s.phase) || !tail.every(inRange)) {
    // Not the last phases (or this section has steps of its own): copy each item's steps here.
    let next = s;
    let at = repeat.at ?? s.phase.entries.length;
    for (let n = from; n <= to; n++) {
      const before = next.phase.entries.length;
      next = applyRepeat(doc, next, {
        line: repeat.line,
        text: repeat.text,
        hosts: repeat.hosts,
        ref: String(n),
        at,
      });
      at += next.phase.entries.length - before;
    }
    return next;
  }
  const [merged, renames] = mergePhases(doc, tail, repeat);
  const commands = s.commands.map((c) => ({ ...c, steps: c.steps.map((ref) => renames.get(ref) ?? ref) }));
  const effect = `phases ${tail.map((p) => p.id).join(', ')} are one phase ${merged.id}: items ${repeat.ref}–${repeat.to} run on ${merged.hosts === 'all' ? 'every host' : merged.hosts.join(', ')}`;
  return {
    ...s,
    phases: [...s.phases.slice(0, first), merged],
    commands,
    prose: [...s.prose, { line: repeat.line, text: repeat.text, effect }],
  };
}

/** The name of a host without its number: `app01` -> `app`, `mq-02` -> `mq`. */
function stemOf(host: string): string {
  return host.replace(/[-_]?\d+$/, '');
}

/** Phases made one, with the step refs renamed (`old phase/step` -> `new phase/step`). */
function mergePhases(
  doc: Doc,
  phases: readonly PhaseDraft[],
  repeat: Repeat,
): [PhaseDraft, Map<string, string>] {
  const head = phases[0] as PhaseDraft;
  const range = `${repeat.ref}–${repeat.to}`;
  const named = repeat.hosts;
  const written = [...phases.flatMap((p) => (p.hosts === 'all' ? [] : p.hosts)), ...doc.hosts.names];
  const stems = new Set(named.map(stemOf));
  const candidates = [...new Set(written)].filter((h) => !named.includes(h) && stems.has(stemOf(h)));
  let hosts: string[] | 'all';
  let hostsTodo: string;
  if (named.length === 0) {
    hosts = 'all';
    hostsTodo = `line ${repeat.line} repeats items ${range} on more hosts without naming them: list the hosts here, one at a time`;
  } else if (candidates.length === 1) {
    const guess = candidates[0] as string;
    hosts = [guess, ...named];
    hostsTodo = `${guess} is a guess: items ${range} do not say on which host they run first (the document names ${guess} like ${named.join(', ')}); line ${repeat.line} repeats them on ${named.join(', ')}: check the hosts and that they run one at a time`;
  } else {
    hosts = [...named];
    hostsTodo = `which host runs items ${range} first? Line ${repeat.line} repeats them on ${named.join(', ')}: add it before them`;
  }
  const on = hosts === 'all' ? 'every host' : hosts.join(', ');
  const renames = new Map<string, string>();
  const taken = new Set<string>();
  const entries = phases.flatMap((p, k) => {
    const apart =
      p.hosts !== 'all' && hosts !== 'all' && p.hosts.some((h) => !(hosts as string[]).includes(h));
    const heading = k === 0 ? [] : [{ comment: [...p.before, `${p.name} (${doc.file}:${p.line})`] }];
    return [
      ...heading,
      ...p.entries.map((e) => {
        if (!('step' in e)) return e;
        let id = e.step.id;
        for (let n = 2; taken.has(id); n++) id = `${e.step.id}-${n}`;
        taken.add(id);
        renames.set(`${p.id}/${e.step.id}`, `${head.id}/${id}`);
        const todo = apart
          ? [
              `the document runs this on ${(p.hosts as string[]).join(', ')} (item ${p.number}, line ${p.line}); this phase runs on ${on}: move it to a phase on ${(p.hosts as string[]).join(', ')}, or let a phase drain take each host out of the balancer and put it back`,
            ]
          : [];
        const { runsOn: _, ...step } = e.step;
        return { step: { ...step, id, todo: [...step.todo, ...todo] } };
      }),
    ];
  });
  const name = head.name.replace(/^\d+\./, `${range}.`);
  return [{ ...head, name, hosts, hostsTodo, entries }, renames];
}
