/**
 * One section of the document folded into a phase: its blocks in order, each a function from
 * the import so far to the next (prose kept as comments, commands recognised into steps, and
 * every command recorded). Values in, values out; the document's params and secrets are
 * declared on its Templater, which the recognisers share.
 */
import { type CommandLine, commandLines, isSampleBlock } from './commands.js';
import { commandsFollow, fileSamplesAfter, messageAt, yamlSamplesAfter } from './lookahead.js';
import type { DocHosts } from './hosts.js';
import type { Block, Section } from './markdown.js';
import type { CommandRecord, PhaseDraft, ProseRecord, StepDraft, StepSpec } from './model.js';
import {
  cleanProse,
  elsewhereOf,
  hasSteps,
  inRollback,
  newPhase,
  proseComments,
  withComment,
  withStep,
} from './phase.js';
import { Templater } from './placeholders.js';
import { afterFollow, blockRule, type Lead, leadsOf } from './leads.js';
import {
  asksToVerify,
  asksToWait,
  statesExpectation,
  assignmentsOf,
  editedConfig,
  folderOf,
  isVerificationTitle,
  nginxLocations,
  repeatDirective,
  uploadOf,
} from './prose.js';
import {
  type BackupRef,
  type Cwd,
  fallback,
  killsAPlaceholder,
  type Recognition,
  type RecogniseContext,
  recognise,
} from './recognisers/index.js';
import { redactCommand } from './redact.js';
import { reversedStep } from './undo.js';
import { parseShellLine, ShellSyntaxError, type SimpleCommand } from './shell-words.js';

type ProseBlock = Extract<Block, { type: 'prose' }>;

/** The document being imported: the same for the whole fold. */
export interface Doc {
  /** The name written in `source: FILE:LINE`. */
  file: string;
  sections: readonly Section[];
  /** Declares the params and secrets the placeholders need (one per import; recognisers use it too). */
  templater: Templater;
  /** The hosts the document names (tables, text) and the order it gives. */
  hosts: DocHosts;
}

/** The folder later commands run in, and where it was set. Example: `{ path: '/home/ecsc', line: 12, from: 'cd', section }`. */
export interface Folder {
  path: string;
  line: number;
  from: 'cd' | 'text';
  section: Section;
}

/** What the import has made so far: the value folded over the sections. */
export interface ImportState {
  phases: readonly PhaseDraft[];
  commands: readonly CommandRecord[];
  prose: readonly ProseRecord[];
  /** Prose before the first phase. */
  header: readonly string[];
  /** Comments waiting for the next phase (sections without steps). */
  pendingBefore: readonly string[];
  /** Ids of every section's phase so far (also of sections that made no phase). */
  phaseIds: readonly string[];
  backups: readonly BackupRef[];
  cwd?: Folder | undefined;
  /** The `ps | grep` a following `kill <PID>` refers to; `record` is its index in `commands`. */
  grep?: { pattern: string; line: number; record: number } | undefined;
}

/** A line that repeats steps ("repeat item 5 on X"). Example: `{ line: 40, text: '重复以上步骤', hosts: ['ecsc-2'] }`. */
export interface Repeat {
  line: number;
  text: string;
  ref?: string;
  /** The last item of a range: "repeat steps 2–6". */
  to?: string;
  hosts: string[];
  /** Where in the phase's entries the line stands: copies of the steps it repeats go there. */
  at?: number;
}

/** The import while a section is folded: plus the phase it builds and the repeats its prose names. */
export interface SectionState extends ImportState {
  phase: PhaseDraft;
  repeats: readonly Repeat[];
}

/** A command line with its place in the section, and its parts once read. */
interface Unit {
  block: number;
  command: CommandLine;
  parts: SimpleCommand[];
  /** Why the line could not be read as shell, when it could not. */
  error?: string;
}

/** What is known of a section before its blocks are folded. */
interface Facts {
  section: Section;
  units: readonly Unit[];
  inRollback: boolean;
  /** The title of the section (or a parent) about another environment: its commands are not steps. */
  elsewhere: string | undefined;
  /** What the text right before each code block (by block index) says about its commands. */
  leads: ReadonlyMap<number, Lead>;
  locations: string[];
  /** The section edits a file with an editor command, so prose about editing needs no stub of its own. */
  editsByCommand: boolean;
  /** A section about checks with no command: it becomes one gate holding all its checks. */
  checksOnly: boolean;
}

/** The initial value of the fold. */
export const EMPTY_IMPORT: ImportState = {
  phases: [],
  commands: [],
  prose: [],
  header: [],
  pendingBefore: [],
  phaseIds: [],
  backups: [],
};

/**
 * Folds section `index` into a phase under construction: its blocks in order, then a gate for a
 * section of checks. `finishSection` (import.ts) decides what becomes of the phase.
 */
export function foldSection(doc: Doc, state: ImportState, section: Section, index: number): SectionState {
  const units = unitsOf(section);
  const rollback = inRollback(doc.sections, index);
  const elsewhere = elsewhereOf(doc.sections, index);
  const facts: Facts = {
    section,
    units,
    inRollback: rollback,
    elsewhere,
    leads: leadsOf(section, doc.hosts.names),
    locations: nginxLocations(section.blocks.flatMap((b) => (b.type === 'prose' ? b.codes : []))),
    editsByCommand: units.some((u) =>
      /^(?:sudo\s+)?(?:(?:nano|vim?|nvim|emacs|mcedit)\s|sed\s+(?:-[A-Za-z]*i|--in-place)|perl\s+-[A-Za-z]*i)/.test(
        u.command.text,
      ),
    ),
    checksOnly:
      units.length === 0 &&
      isVerificationTitle(section.title) &&
      section.line > 0 &&
      !rollback &&
      elsewhere === undefined,
  };
  const phase = newPhase(section, index, doc.file, state.phaseIds);
  const start: SectionState = {
    ...state,
    phaseIds: [...state.phaseIds, phase.id],
    grep: undefined,
    phase,
    repeats: [],
  };
  const folded = section.blocks.reduce((s, block, b) => foldBlock(doc, facts, s, block, b), start);
  if (!facts.checksOnly || hasSteps(folded.phase)) return folded;
  const checks = section.blocks
    .flatMap((b) => (b.type === 'prose' ? b.lines.map((l) => cleanProse(l.text)) : []))
    .filter(Boolean);
  return gate(folded, [...new Set([cleanProse(section.title), ...checks])].join('; '), {
    line: section.line,
    text: section.raw,
  });
}

function foldBlock(doc: Doc, facts: Facts, s: SectionState, block: Block, b: number): SectionState {
  if (block.type === 'heading') return comment(s, [block.raw]);
  if (block.type === 'prose') return foldProse(doc, facts, s, block, b);
  if (block.type !== 'code') return s;
  if (isSampleBlock(block))
    return comment(
      s,
      block.lines.map((l) => `  ${l.text}`),
    );
  return facts.units.reduce(
    (acc, unit, u) => (unit.block === b ? foldCommand(doc, facts, acc, u) : acc),
    textFolder(doc, facts.section, s, b),
  );
}

/** Prose: kept as comments; repeats, uploads, verifications and config edits it names are recognised. */
function foldProse(doc: Doc, facts: Facts, s: SectionState, block: ProseBlock, b: number): SectionState {
  const { section } = facts;
  return block.lines.reduce(
    (acc, line) => {
      const lineCodes = block.codes.filter((c) => c.line === line.line);
      const repeat = repeatDirective(line.text, lineCodes);
      let next = repeat
        ? withRepeat(acc, { line: line.line, text: line.text, ...repeat, at: acc.phase.entries.length })
        : acc;
      if (facts.inRollback || facts.elsewhere !== undefined) return next;
      const upload = uploadOf(line.text);
      if (upload) next = uploadStep(doc, next, upload, line);
      if (asksToVerify(line.text) && !commandsFollow(section.blocks, b) && !facts.checksOnly)
        next = gate(next, cleanProse(line.text), line);
      else if (asksToWait(line.text) && !commandsFollow(section.blocks, b) && !afterFollow(facts, b))
        next = gate(next, cleanProse(line.text), line, 'wait');
      else if (
        statesExpectation(line.text) &&
        section.blocks[b - 1]?.type === 'code' &&
        !commandsFollow(section.blocks, b) &&
        !afterFollow(facts, b)
      )
        // "All members must be running" after a command: what its output must be; a person checks it.
        next = gate(next, cleanProse(line.text), line, 'check');
      // A block after this line shows the file's content: the edit step is made from it.
      const sample = section.blocks.find(
        (x): x is Extract<Block, { type: 'code' }> => x.type === 'code' && x.sample?.line === line.line,
      )?.sample;
      const config = sample?.file ?? editedConfig(line.text, lineCodes);
      if (config && (sample || !facts.editsByCommand)) next = proseEdit(doc, facts, next, config, line);
      return next;
    },
    comment(s, proseComments(block, section)),
  );
}

/** A command line while its parts are folded: the quote placed yet or not, and why each part became what it did. */
interface CommandFold {
  state: SectionState;
  quoted: boolean;
  whys: string[];
}

/** One command line: its parts recognised in order, its record kept, its quote placed above its first step. */
function foldCommand(doc: Doc, facts: Facts, s: SectionState, u: number): SectionState {
  const unit = facts.units[u] as Unit;
  const text = redactCommand(unit.command.text);
  const record: CommandRecord = {
    line: unit.command.line,
    text,
    outcome: 'folded',
    kinds: [],
    recognised: true,
    why: '',
    todo: [],
    steps: [],
  };
  const at = s.commands.length;
  const parts = unit.error ? [unreadable(unit.command.text)] : unit.parts;
  const start: CommandFold = { state: { ...s, commands: [...s.commands, record] }, quoted: false, whys: [] };
  const done = parts.reduce(
    (acc, part, p) => foldPart(doc, facts, acc, { unit, u, at, part, next: parts[p + 1] }),
    start,
  );
  const state = patchRecord(done.state, at, (r) => ({ ...r, why: [...new Set(done.whys)].join('; ') }));
  return done.quoted ? state : comment(state, [...notesOf(unit), quoteOf(doc, unit)]);
}

/** One part of a command line (a link of an `&&` chain) and where it sits. */
interface PartAt {
  unit: Unit;
  /** The unit's index in the section. */
  u: number;
  /** The index of the line's record in `commands`. */
  at: number;
  part: SimpleCommand;
  /** The part after it on the same line. */
  next: SimpleCommand | undefined;
}

function foldPart(doc: Doc, facts: Facts, acc: CommandFold, where: PartAt): CommandFold {
  const { unit, at, part } = where;
  const line = unit.command.line;
  const ctx = context(doc, facts, acc.state, { block: unit.block, line }, acc.state.grep);
  const undone =
    facts.inRollback && !unit.error && unit.parts.length === 1 ? asUndo(doc, acc.state, unit) : undefined;
  if (undone) return { ...acc, state: undone.state, quoted: true, whys: [...acc.whys, undone.why] };
  let result: Recognition =
    blockRule(facts, unit, ctx) ??
    (unit.error
      ? fallback(part, ctx, `the line cannot be read as shell (${unit.error})`)
      : recognise(part, ctx));
  if (result.type === 'grep') {
    const next = where.next ?? facts.units[where.u + 1]?.parts[0];
    if (next && killsAPlaceholder(next)) {
      const grep = { pattern: result.pattern, line, record: at };
      return { ...acc, state: { ...acc.state, grep }, whys: [...acc.whys, result.why] };
    }
    result = fallback(part, ctx);
  }
  if (result.type === 'cd') {
    const cwd =
      result.path === undefined
        ? undefined
        : { path: result.path, line, from: 'cd' as const, section: facts.section };
    return { ...acc, state: { ...acc.state, cwd }, whys: [...acc.whys, result.why] };
  }
  if (result.type === 'covered') {
    const why = result.why;
    const state = patchRecord(
      comment(acc.state, [...notesOf(unit), `TODO ${why}: ${quoteOf(doc, unit)}`]),
      at,
      (r) => ({
        ...r,
        outcome: r.outcome === 'step' ? 'step' : 'covered',
        todo: [...r.todo, why],
      }),
    );
    return { state, quoted: true, whys: [...acc.whys, `no step: ${why}`] };
  }
  const grep = ctx.grep ? acc.state.grep : undefined;
  const { recognised, steps } = result;
  let { state, quoted } = acc;
  steps.forEach((spec, i) => {
    const quotes = !quoted && i === 0 ? [...notesOf(unit), quoteOf(doc, unit)] : [];
    quoted ||= quotes.length > 0;
    state = addRecordedStep(state, spec, { line, recognised, quotes, record: at, grep: grep?.record });
    const runsOn = facts.leads.get(unit.block)?.hosts;
    if (runsOn) state = { ...state, phase: withLastStep(state.phase, (step) => ({ ...step, runsOn })) };
  });
  state = patchRecord({ ...state, ...(grep ? { grep: undefined } : {}) }, at, (r) => ({
    ...r,
    outcome: 'step',
    recognised: r.recognised && recognised,
  }));
  return { state, quoted, whys: [...acc.whys, result.why] };
}

/**
 * A rollback command that plainly reverses a forward shell.run step (`sed -i 's/B/A/' F` after
 * `sed -i 's/A/B/' F`, `ln -sfn OLD L` after `ln -sfn NEW L`) becomes that step's undo, so
 * `cutover rollback` runs it; its record says so, and the draft keeps it as a comment.
 */
function asUndo(doc: Doc, s: SectionState, unit: Unit): { state: SectionState; why: string } | undefined {
  const text = unit.command.text;
  const found = reversedStep(s.phases, text, (step) => s.commands.find((c) => c.line === step.line)?.text);
  if (!found) return undefined;
  const ref = `${found.phase}/${found.step.id}`;
  const undo = doc.templater.template(text, unit.command.line);
  const phases = s.phases.map((p) =>
    p.id !== found.phase
      ? p
      : {
          ...p,
          entries: p.entries.map((e) =>
            'step' in e && e.step === found.step && e.step.kind === 'shell.run'
              ? { step: { ...e.step, params: { ...e.step.params, undo } } }
              : e,
          ),
        },
  );
  const why =
    found.step.kind === 'text.edit'
      ? `reverses step ${ref} (text.edit): its undo already puts the original back byte-identical (\`cutover rollback\` runs it after that step ran), so this needs no step`
      : `reverses step ${ref}: it is that step's undo now (\`cutover rollback\` runs it after that step ran); check it restores what the step changed`;
  const at = s.commands.length - 1;
  const state = comment(
    patchRecord({ ...s, phases }, at, (r) => ({
      ...r,
      outcome: 'covered',
      steps: [],
      todo: [...r.todo, why],
    })),
    [...notesOf(unit), `TODO ${why}: ${quoteOf(doc, unit)}`],
  );
  return { state, why: `no step: ${why}` };
}

/** The phase with its last step changed. */
function withLastStep(phase: PhaseDraft, change: (step: StepDraft) => StepDraft): PhaseDraft {
  const last = phase.entries.length - 1;
  return {
    ...phase,
    entries: phase.entries.map((e, i) => (i === last && 'step' in e ? { step: change(e.step) } : e)),
  };
}

/** A step made from a command: added to the phase and to its record (and to the `ps | grep` record a process.stop comes from); a backup is remembered for its restore. */
function addRecordedStep(
  s: SectionState,
  spec: StepSpec,
  at: { line: number; recognised: boolean; quotes: string[]; record: number; grep: number | undefined },
): SectionState {
  const [added, step] = addStep(s, spec, at.line, at.recognised, at.quotes);
  const ref = `${added.phase.id}/${step.id}`;
  let next = patchRecord(added, at.record, (r) => ({
    ...r,
    kinds: [...r.kinds, spec.kind],
    todo: [...r.todo, ...spec.todo],
    steps: [...r.steps, ref],
  }));
  if (spec.kind === 'backup.copy') {
    const backup = { ref, src: String(spec.params.src), dest: String(spec.params.dest) };
    next = { ...next, backups: [...next.backups, backup] };
  }
  if (at.grep !== undefined && spec.kind === 'process.stop') {
    next = patchRecord(next, at.grep, (r) => ({
      ...r,
      kinds: [...r.kinds, spec.kind],
      steps: [...r.steps, ref],
    }));
  }
  return next;
}

function patchRecord<S extends ImportState>(
  s: S,
  index: number,
  change: (r: CommandRecord) => CommandRecord,
): S {
  return { ...s, commands: s.commands.map((r, i) => (i === index ? change(r) : r)) };
}

function quoteOf(doc: Doc, unit: Unit): string {
  return `${doc.file}:${unit.command.line} $ ${redactCommand(unit.command.text)}`;
}

function notesOf(unit: Unit): string[] {
  return unit.command.notes.map((n) => `  ${n}`);
}

/** A step added to the phase under construction (see `withStep`). */
function addStep(
  s: SectionState,
  spec: StepSpec,
  line: number,
  recognised: boolean,
  quotes: string[] = [],
): [SectionState, StepDraft] {
  const [phase, step] = withStep(s.phase, spec, line, recognised, quotes);
  return [{ ...s, phase }, step];
}

function withRepeat(s: SectionState, repeat: Repeat): SectionState {
  return { ...s, repeats: [...s.repeats, repeat] };
}

/** What a prose line produced, added to the report's records. */
export function withProse<S extends ImportState>(s: S, record: ProseRecord): S {
  return { ...s, prose: [...s.prose, record] };
}

/** Comment lines added to the phase under construction. */
export function comment(s: SectionState, lines: string[]): SectionState {
  return lines.length > 0 ? { ...s, phase: withComment(s.phase, lines) } : s;
}

/** A manual check for a person, from a "verify ..." line or a checks section. */
function gate(
  s: SectionState,
  message: string,
  line: { line: number; text: string },
  idHint = 'verify',
): SectionState {
  const spec: StepSpec = { kind: 'gate.confirm', params: { message }, idHint, todo: [] };
  const [next, step] = addStep(s, spec, line.line, true);
  const effect = `gate.confirm ${next.phase.id}/${step.id}: a person checks`;
  return withProse(next, { line: line.line, text: line.text, effect });
}

function uploadStep(
  doc: Doc,
  s: SectionState,
  upload: { file: string; dir: string },
  line: { line: number; text: string },
): SectionState {
  const dest = doc.templater.template(`${upload.dir.replace(/\/+$/, '')}/${upload.file}`, line.line);
  const spec: StepSpec = {
    kind: 'file.upload',
    params: { src: upload.file, dest },
    idHint: `upload ${upload.file}`,
    todo: [
      `the text says to upload ${upload.file}: put it next to this runbook (src is read on the controller), or give its path`,
    ],
  };
  const [next, step] = addStep(s, spec, line.line, true);
  return withProse(next, {
    line: line.line,
    text: line.text,
    effect: `file.upload ${next.phase.id}/${step.id}`,
  });
}

/** The text says to edit a config file: the stub an editor command on it would give. */
function proseEdit(
  doc: Doc,
  facts: Facts,
  s: SectionState,
  config: string,
  line: { line: number; text: string },
): SectionState {
  const { section } = facts;
  const block = section.blocks.findIndex(
    (b) => b.type === 'prose' && b.lines.some((l) => l.line === line.line),
  );
  const codes =
    (section.blocks[block] as ProseBlock | undefined)?.codes.filter((c) => c.line === line.line) ?? [];
  const ctx = {
    ...context(doc, { ...facts, inRollback: false }, s, { block, line: line.line }, undefined),
    assignments: assignmentsOf(codes),
  };
  const command = parseShellLine(`nano ${config}`)[0] as SimpleCommand;
  const result = recognise(command, ctx);
  if (result.type !== 'steps') return s;
  return result.steps.reduce((acc, spec) => {
    const [next, step] = addStep(acc, spec, line.line, false);
    const effect = `${spec.kind} ${next.phase.id}/${step.id} (a stub: the text says to edit ${config})`;
    return withProse(next, { line: line.line, text: line.text, effect });
  }, s);
}

/** A folder named in the prose right before a code block is where its commands run, unless a `cd` of this section says otherwise. */
function textFolder(doc: Doc, section: Section, s: SectionState, b: number): SectionState {
  const previous = section.blocks[b - 1];
  if (previous?.type !== 'prose') return s;
  const folder = folderOf(previous.codes, previous.lines.map((l) => l.text).join(' '));
  if (!folder) return s;
  if (s.cwd && s.cwd.from === 'cd' && s.cwd.section === section) return s;
  const path = doc.templater.template(folder, previous.line);
  return { ...s, cwd: { path, line: previous.line, from: 'text', section } };
}

/** What the recognisers see for a command at `at` (its block and line) of a section. */
function context(
  doc: Doc,
  facts: Facts,
  s: ImportState,
  at: { block: number; line: number },
  grep: { pattern: string; line: number } | undefined,
): RecogniseContext {
  const { section } = facts;
  const cwd: Cwd | undefined = s.cwd && {
    path: s.cwd.path,
    line: s.cwd.line,
    from: s.cwd.from,
    sameSection: s.cwd.section === section,
  };
  const forward = !facts.inRollback && facts.elsewhere === undefined;
  return {
    line: at.line,
    // A placeholder only a rollback or another environment uses is no param of this runbook.
    templater: forward ? doc.templater : new Templater(),
    ...(cwd ? { cwd } : {}),
    ...(grep ? { grep: { pattern: grep.pattern, line: grep.line } } : {}),
    message: () => messageAt(section, at),
    yamlSamples: () => yamlSamplesAfter(section, at.block),
    fileSamples: () => fileSamplesAfter(section, at.block),
    locations: facts.locations,
    namedFiles: section.blocks.flatMap((b) =>
      b.type === 'prose'
        ? b.codes
            .map((c) => ({ path: c.value.trim(), line: c.line }))
            .filter((c) => /^\/[^\s]*\/[^\s/]+\.[A-Za-z]{2,12}$/.test(c.path))
        : [],
    ),
    inRollback: facts.inRollback,
    backups: s.backups,
  };
}

/** The command lines of a section's code blocks, each read as shell (or why it could not be). */
function unitsOf(section: Section): Unit[] {
  return section.blocks.flatMap((block, b) => {
    if (block.type !== 'code' || isSampleBlock(block)) return [];
    return commandLines(block).map((command): Unit => {
      try {
        return { block: b, command, parts: parseShellLine(command.text) };
      } catch (e) {
        if (!(e instanceof ShellSyntaxError)) throw e;
        return { block: b, command, parts: [], error: e.message };
      }
    });
  });
}

/** A line that could not be read as shell, as one opaque command for the fallback. */
function unreadable(text: string): SimpleCommand {
  const program = text.split(/\s+/)[0] ?? '';
  return { text, stages: [[{ text: program, value: program }]], redirects: [], background: false };
}
