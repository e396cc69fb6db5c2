/**
 * `cutover import`: a Markdown runbook -> a draft cutover runbook. Sections (headings, or
 * numbered items) become phases, prose becomes comments, each command of a code block becomes
 * steps (or shapes them: `cd`, `ps | grep`), and every command is accounted for in `commands`.
 * Pure: text in, text and records out.
 */
import { InputError } from '../errors.js';
import { slug } from '../runbook/load.js';
import { type CommandLine, commandLines, isOutputLine, isSampleBlock } from './commands.js';
import { draftYaml } from './draft.js';
import { type Block, parseBlocks, type Section, sections } from './markdown.js';
import type { CommandRecord, ImportResult, PhaseDraft, ProseRecord, StepDraft, StepSpec } from './model.js';
import { Templater } from './placeholders.js';
import {
  asksToVerify,
  editedConfig,
  folderOf,
  hostNames,
  isRollbackTitle,
  isVerificationTitle,
  namesAThing,
  nginxLocations,
  repeatDirective,
  saysAllHosts,
  uploadOf,
  waitMessage,
} from './prose.js';
import { redactCommand } from './redact.js';
import {
  type BackupRef,
  type Cwd,
  fallback,
  killsAPlaceholder,
  type LogMessage,
  type Recognition,
  type RecogniseContext,
  recognise,
} from './recognisers/index.js';
import { parseShellLine, ShellSyntaxError, type SimpleCommand } from './shell-words.js';

type ProseBlock = Extract<Block, { type: 'prose' }>;

/** A command line with its place in the section, and its parts once read. */
interface Unit {
  block: number;
  command: CommandLine;
  parts: SimpleCommand[];
  /** Why the line could not be read, when it could not. */
  error?: string;
}

/** What the handlers of one section share. */
interface SectionScope {
  section: Section;
  phase: PhaseDraft;
  units: Unit[];
  inRollback: boolean;
  locations: string[];
  /** The section edits a file with an editor command, so prose about editing needs no stub of its own. */
  editsByCommand: boolean;
  checksOnly: boolean;
  repeats: { line: number; text: string; ref?: string; hosts: string[] }[];
}

/** A command record while the ids of its steps may still change. */
interface PendingRecord extends Omit<CommandRecord, 'steps'> {
  drafts: { phase: PhaseDraft; step: StepDraft }[];
}

/**
 * Imports one Markdown runbook. `file` is the name written in `source: FILE:LINE` (usually the
 * base name). Throws InputError when the document has no command at all.
 * Example: `importMarkdown(readFileSync('seed.md', 'utf8'), 'seed.md').yaml`.
 */
export function importMarkdown(text: string, file: string): ImportResult {
  return new Importer(text, file).run();
}

class Importer {
  readonly templater = new Templater();
  readonly phases: PhaseDraft[] = [];
  readonly records: PendingRecord[] = [];
  readonly prose: ProseRecord[] = [];
  readonly header: string[] = [];
  /** Comments waiting for the next phase (sections without steps). */
  pendingBefore: string[] = [];
  cwd?: { path: string; line: number; from: 'cd' | 'text'; section: Section };
  /** The `ps | grep` a following `kill <PID>` refers to. */
  grep?: { pattern: string; line: number; record: PendingRecord };
  readonly backups: BackupRef[] = [];
  readonly phaseIds = new Set<string>();
  readonly sections: Section[];

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    this.sections = sections(parseBlocks(text));
  }

  run(): ImportResult {
    this.sections.forEach((section, i) => {
      this.section(section, i);
    });
    if (this.phases.length === 0) {
      throw new InputError(
        [
          {
            file: this.file,
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
    for (const phase of this.phases) linkRestarts(phase);
    const commands: CommandRecord[] = this.records.map(({ drafts, ...r }) => ({
      ...r,
      steps: drafts.map((d) => `${d.phase.id}/${d.step.id}`),
    }));
    const result = {
      file: this.file,
      phases: this.phases,
      commands,
      prose: this.prose,
      params: [...this.templater.params.values()],
      secrets: [...this.templater.secrets.values()],
    };
    const title = this.sections.find((s) => s.depth === 1)?.title;
    return {
      ...result,
      yaml: draftYaml({
        ...result,
        ...(title ? { title } : {}),
        header: this.header,
        trailer: this.pendingBefore,
      }),
    };
  }

  private section(section: Section, index: number): void {
    const units = this.units(section);
    const codes = section.blocks.flatMap((b) => (b.type === 'prose' ? b.codes : []));
    const inRollback = this.inRollback(index);
    const scope: SectionScope = {
      section,
      units,
      inRollback,
      locations: nginxLocations(codes),
      editsByCommand: units.some((u) =>
        /^(?:sudo\s+)?(?:nano|vim?|nvim|emacs|mcedit)\s/.test(u.command.text),
      ),
      // A section about checks with no command becomes one gate holding all its checks (below).
      checksOnly: units.length === 0 && isVerificationTitle(section.title) && section.line > 0 && !inRollback,
      repeats: [],
      phase: {
        id: this.phaseId(section, index),
        name: phaseName(section, this.file),
        line: section.line,
        ...(section.number !== undefined ? { number: section.number } : {}),
        hosts: 'all',
        before: [],
        entries: [],
      },
    };
    this.grep = undefined;
    section.blocks.forEach((block, b) => {
      if (block.type === 'heading') this.comment(scope.phase, [block.raw]);
      else if (block.type === 'prose') this.proseBlock(scope, block, b);
      else if (block.type === 'code' && isSampleBlock(block))
        this.comment(
          scope.phase,
          block.lines.map((l) => `  ${l.text}`),
        );
      else if (block.type === 'code') {
        this.textFolder(section, b);
        for (const unit of units.filter((u) => u.block === b)) this.commandUnit(scope, unit);
      }
    });
    if (scope.checksOnly && !scope.phase.entries.some((e) => 'step' in e)) {
      const checks = section.blocks
        .flatMap((b) => (b.type === 'prose' ? b.lines.map((l) => cleanProse(l.text)) : []))
        .filter(Boolean);
      this.gate(scope.phase, [section.title, ...checks].join('; '), {
        line: section.line,
        text: section.raw,
      });
    }
    this.finishSection(section, scope.phase, scope.repeats);
  }

  /** Prose: kept as comments; repeats, uploads, verifications and config edits it names are recognised. */
  private proseBlock(scope: SectionScope, block: ProseBlock, b: number): void {
    const { section, phase, inRollback } = scope;
    this.comment(phase, proseComments(block, section));
    for (const line of block.lines) {
      const lineCodes = block.codes.filter((c) => c.line === line.line);
      const repeat = repeatDirective(line.text, lineCodes);
      if (repeat) scope.repeats.push({ line: line.line, text: line.text, ...repeat });
      if (inRollback) continue;
      const upload = uploadOf(line.text);
      if (upload) this.uploadStep(phase, upload, line);
      if (asksToVerify(line.text) && !commandsFollow(section.blocks, b) && !scope.checksOnly)
        this.gate(phase, cleanProse(line.text), line);
      const config = editedConfig(line.text, lineCodes);
      if (config && !scope.editsByCommand) this.proseEdit(phase, config, line, section, scope.locations);
    }
  }

  /** One command line: its parts recognised in order, its record kept, its quote placed above its first step. */
  private commandUnit(scope: SectionScope, unit: Unit): void {
    const { section, phase, units } = scope;
    const line = unit.command.line;
    const quote = `${this.file}:${line} $ ${redactCommand(unit.command.text)}`;
    const record: PendingRecord = {
      line,
      text: redactCommand(unit.command.text),
      outcome: 'folded',
      drafts: [],
      kinds: [],
      recognised: true,
      why: '',
      todo: [],
    };
    this.records.push(record);
    const notes = unit.command.notes.map((n) => `  ${n}`);
    let quoted = false;
    const whys: string[] = [];
    const parts = unit.error ? [unreadable(unit.command.text)] : unit.parts;
    parts.forEach((part, p) => {
      const ctx = this.context(
        section,
        { block: unit.block, line },
        scope.inRollback,
        scope.locations,
        this.grep,
      );
      let result: Recognition = unit.error
        ? fallback(part, ctx, `the line cannot be read as shell (${unit.error})`)
        : recognise(part, ctx);
      if (result.type === 'grep') {
        const next = parts[p + 1] ?? units[units.indexOf(unit) + 1]?.parts[0];
        if (next && killsAPlaceholder(next)) {
          this.grep = { pattern: result.pattern, line, record };
          whys.push(result.why);
          return;
        }
        result = fallback(part, ctx);
      }
      if (result.type === 'cd') {
        this.cwd = result.path === undefined ? undefined : { path: result.path, line, from: 'cd', section };
        whys.push(result.why);
        return;
      }
      if (result.type === 'covered') {
        this.comment(phase, [...notes, `TODO ${result.why}: ${quote}`]);
        quoted = true;
        if (record.outcome !== 'step') record.outcome = 'covered';
        record.todo.push(result.why);
        whys.push(`no step: ${result.why}`);
        return;
      }
      const grep = ctx.grep ? this.grep : undefined;
      result.steps.forEach((spec, s) => {
        const quotes = !quoted && s === 0 ? [...notes, quote] : [];
        quoted ||= quotes.length > 0;
        const step = this.addStep(phase, spec, line, result.recognised, quotes);
        record.drafts.push({ phase, step });
        record.kinds.push(spec.kind);
        record.todo.push(...spec.todo);
        if (spec.kind === 'backup.copy') {
          this.backups.push({
            ref: `${phase.id}/${step.id}`,
            src: String(spec.params.src),
            dest: String(spec.params.dest),
          });
        }
        if (grep && spec.kind === 'process.stop') {
          grep.record.drafts.push({ phase, step });
          grep.record.kinds.push(spec.kind);
        }
      });
      if (grep) this.grep = undefined;
      record.outcome = 'step';
      record.recognised &&= result.recognised;
      whys.push(result.why);
    });
    record.why = [...new Set(whys)].join('; ');
    if (!quoted) this.comment(phase, [...notes, quote]);
  }

  /** A manual check for a person, from a "verify ..." line or a checks section. */
  private gate(phase: PhaseDraft, message: string, line: { line: number; text: string }): void {
    const step = this.addStep(
      phase,
      { kind: 'gate.confirm', params: { message }, idHint: 'verify', todo: [] },
      line.line,
      true,
    );
    this.prose.push({
      line: line.line,
      text: line.text,
      effect: `gate.confirm ${phase.id}/${step.id}: a person checks`,
    });
  }

  /** The phase (with steps) this section becomes, or its comments for the next phase. */
  private finishSection(
    section: Section,
    phase: PhaseDraft,
    repeats: { line: number; text: string; ref?: string; hosts: string[] }[],
  ): void {
    const hasSteps = () => phase.entries.some((e) => 'step' in e);
    if (hasSteps()) this.initialHosts(section, phase);
    for (const repeat of repeats) {
      const previous = this.phases[this.phases.length - 1];
      const target =
        repeat.ref === undefined
          ? hasSteps()
            ? phase
            : previous
          : [...this.phases].reverse().find((p) => p.number === repeat.ref);
      if (!target) {
        this.comment(phase, [
          `TODO line ${repeat.line} repeats ${repeat.ref ? `item ${repeat.ref}` : 'the steps above'}, which has no steps in this draft: add them`,
        ]);
        continue;
      }
      if (target === phase || (!hasSteps() && target === previous)) {
        this.addHosts(target, repeat.hosts, repeat.line);
        this.prose.push({
          line: repeat.line,
          text: repeat.text,
          effect: `phase ${target.id} also runs on ${repeat.hosts.length > 0 ? repeat.hosts.join(', ') : 'more hosts (not named)'}`,
        });
        continue;
      }
      this.comment(phase, [
        `the steps of phase ${target.id} (${this.file}:${target.line}) again, as line ${repeat.line} says`,
      ]);
      for (const entry of target.entries) {
        if (!('step' in entry)) continue;
        const copy: StepDraft = { ...structuredClone(entry.step), quotes: [], copiedFrom: target.id };
        phase.entries.push({ step: copy });
      }
      if (repeat.hosts.length > 0) phase.hosts = [...repeat.hosts];
      else
        phase.hostsTodo = `line ${repeat.line} repeats phase ${target.id} on other hosts: which ones? The document says: "${cleanProse(repeat.text)}"`;
      this.prose.push({
        line: repeat.line,
        text: repeat.text,
        effect: `phase ${phase.id} repeats the steps of phase ${target.id}`,
      });
    }
    if (!hasSteps()) {
      const comments = phase.entries.flatMap((e) => ('comment' in e ? e.comment : []));
      const heading = section.line > 0 && !comments.includes(section.raw) ? [section.raw] : [];
      const todo =
        section.number !== undefined &&
        section.depth === 0 &&
        repeats.length === 0 &&
        !this.inRollback(this.sections.indexOf(section))
          ? [
              `TODO ${this.file}:${section.line}: item ${section.number} gives no command ("${cleanProse(section.title)}"): if it is an action, add a step for it`,
            ]
          : [];
      const lines = [...heading, ...comments, ...todo];
      if (section.line === 0 && this.phases.length === 0) this.header.push(...lines);
      else this.pendingBefore.push(...lines);
      return;
    }
    phase.before = this.pendingBefore;
    this.pendingBefore = [];
    this.phases.push(phase);
  }

  private initialHosts(section: Section, phase: PhaseDraft): void {
    const firstCode = section.blocks.findIndex((b) => b.type === 'code');
    const lead = section.blocks
      .slice(0, firstCode < 0 ? undefined : firstCode)
      .filter((b): b is ProseBlock => b.type === 'prose');
    const leadText = [section.raw, ...lead.flatMap((b) => b.lines.map((l) => l.text))].join('\n');
    const titleCodes = [...section.raw.matchAll(/`([^`]+)`/g)].map((m) => ({
      line: section.line,
      value: m[1] as string,
    }));
    const named = hostNames([...titleCodes, ...lead.flatMap((b) => b.codes)]);
    if (named.length > 0) {
      phase.hosts = named;
      this.prose.push({
        line: section.line,
        text: section.raw,
        effect: `phase ${phase.id} runs on ${named.join(', ')}`,
      });
    } else if (!saysAllHosts(leadText)) {
      phase.hostsTodo = `which hosts run this phase, in which order? The document says: "${cleanProse(section.raw || section.title || 'nothing')}"`;
    }
  }

  private addHosts(phase: PhaseDraft, hosts: string[], line: number): void {
    if (hosts.length === 0) {
      phase.hostsTodo = `line ${line} repeats these steps on more hosts without naming them: list them here`;
      return;
    }
    if (phase.hosts === 'all') {
      phase.hostsTodo = `${phase.hostsTodo ? `${phase.hostsTodo}; ` : ''}line ${line} also names ${hosts.join(', ')}`;
      return;
    }
    phase.hosts = [...phase.hosts, ...hosts.filter((h) => !(phase.hosts as string[]).includes(h))];
  }

  /** A section is in the rollback when its title or one of its parent headings is about rolling back. */
  private inRollback(index: number): boolean {
    const section = this.sections[index];
    if (!section) return false;
    if (isRollbackTitle(section.title)) return true;
    let depth = section.depth;
    for (let i = index - 1; i > 0 && depth > 1; i--) {
      const earlier = this.sections[i] as Section;
      if (earlier.depth === 0 || earlier.depth >= depth) continue;
      if (isRollbackTitle(earlier.title)) return true;
      depth = earlier.depth;
    }
    return false;
  }

  private phaseId(section: Section, index: number): string {
    const words = slug(section.title);
    const number = section.number?.replace(/\./g, '-');
    let base: string;
    if (/[a-z]{2}/.test(words)) base = number ? `${number}-${words}` : words;
    else if (number) base = section.depth === 0 ? `item-${number}` : `section-${number}`;
    else base = index === 0 ? 'start' : `phase-${index}`;
    base = base.slice(0, 40).replace(/-+$/, '');
    let id = base;
    for (let n = 2; this.phaseIds.has(id); n++) id = `${base}-${n}`;
    this.phaseIds.add(id);
    return id;
  }

  private units(section: Section): Unit[] {
    const out: Unit[] = [];
    section.blocks.forEach((block, b) => {
      if (block.type !== 'code' || isSampleBlock(block)) return;
      for (const command of commandLines(block)) {
        try {
          out.push({ block: b, command, parts: parseShellLine(command.text) });
        } catch (e) {
          if (!(e instanceof ShellSyntaxError)) throw e;
          out.push({ block: b, command, parts: [], error: e.message });
        }
      }
    });
    return out;
  }

  /** A folder named in the prose right before a code block is where its commands run, unless a `cd` of this section says otherwise. */
  private textFolder(section: Section, b: number): void {
    const previous = section.blocks[b - 1];
    if (previous?.type !== 'prose') return;
    const folder = folderOf(previous.codes);
    if (!folder) return;
    if (this.cwd && this.cwd.from === 'cd' && this.cwd.section === section) return;
    this.cwd = {
      path: this.templater.template(folder, previous.line),
      line: previous.line,
      from: 'text',
      section,
    };
  }

  /** What the recognisers see for a command at `at` (its block and line) of a section. */
  private context(
    section: Section,
    at: { block: number; line: number },
    inRollback: boolean,
    locations: string[],
    grep: { pattern: string; line: number } | undefined,
  ): RecogniseContext {
    const cwd: Cwd | undefined = this.cwd && {
      path: this.cwd.path,
      line: this.cwd.line,
      from: this.cwd.from,
      sameSection: this.cwd.section === section,
    };
    return {
      line: at.line,
      templater: this.templater,
      ...(cwd ? { cwd } : {}),
      ...(grep ? { grep: { pattern: grep.pattern, line: grep.line } } : {}),
      message: () => messageAfter(section, at),
      yamlSamples: () => yamlSamplesAfter(section, at.block),
      locations,
      inRollback,
      backups: this.backups,
    };
  }

  private addStep(
    phase: PhaseDraft,
    spec: StepSpec,
    line: number,
    recognised: boolean,
    quotes: string[] = [],
  ): StepDraft {
    const taken = new Set(phase.entries.flatMap((e) => ('step' in e ? [e.step.id] : [])));
    const hint = slug(spec.idHint);
    // A hint left with no word (only digits and dashes) would make a poor id: the kind's verb reads better.
    const base = /[a-z]{2}/.test(hint)
      ? hint
      : spec.kind.split('.').pop() === 'run'
        ? 'run'
        : (spec.idHint.split(' ')[0] ?? spec.kind.replace('.', '-'));
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    const step: StepDraft = { ...spec, id, line, recognised, quotes };
    phase.entries.push({ step });
    return step;
  }

  private comment(phase: PhaseDraft, lines: string[]): void {
    if (lines.length > 0) phase.entries.push({ comment: lines });
  }

  private uploadStep(
    phase: PhaseDraft,
    upload: { file: string; dir: string },
    line: { line: number; text: string },
  ): void {
    const dest = this.templater.template(`${upload.dir.replace(/\/+$/, '')}/${upload.file}`, line.line);
    const step = this.addStep(
      phase,
      {
        kind: 'file.upload',
        params: { src: upload.file, dest },
        idHint: `upload ${upload.file}`,
        todo: [
          `the text says to upload ${upload.file}: put it next to this runbook (src is read on the controller), or give its path`,
        ],
      },
      line.line,
      true,
    );
    this.prose.push({ line: line.line, text: line.text, effect: `file.upload ${phase.id}/${step.id}` });
  }

  private proseEdit(
    phase: PhaseDraft,
    config: string,
    line: { line: number; text: string },
    section: Section,
    locations: string[],
  ): void {
    const block = section.blocks.findIndex(
      (b) => b.type === 'prose' && b.lines.some((l) => l.line === line.line),
    );
    const ctx = this.context(section, { block, line: line.line }, false, locations, undefined);
    const command = parseShellLine(`nano ${config}`)[0] as SimpleCommand;
    const result = recognise(command, ctx);
    if (result.type !== 'steps') return;
    for (const spec of result.steps) {
      const step = this.addStep(phase, spec, line.line, false);
      this.prose.push({
        line: line.line,
        text: line.text,
        effect: `${spec.kind} ${phase.id}/${step.id} (a stub: the text says to edit ${config})`,
      });
    }
  }
}

/** A line that could not be read as shell, as one opaque command for the fallback. */
function unreadable(text: string): SimpleCommand {
  const program = text.split(/\s+/)[0] ?? '';
  return { text, stages: [[{ text: program, value: program }]], redirects: [], background: false };
}

/** True when the block after `b` (ignoring nothing) is a code block with commands. */
function commandsFollow(blocks: readonly Block[], b: number): boolean {
  const next = blocks[b + 1];
  return next?.type === 'code' && commandLines(next).length > 0;
}

function phaseName(section: Section, file: string): string {
  const number =
    section.number === undefined ? '' : section.depth > 0 ? `${section.number} ` : `${section.number}. `;
  const title = cleanProse(section.title);
  const clean =
    section.line === 0
      ? `Commands before the first section of ${file}`
      : `${number}${title}`.trim() || `line ${section.line}`;
  return clean.length > 100 ? `${clean.slice(0, 99)}…` : clean;
}

const HTML_TAGS = /<\/?(?:p|br|b|i|em|strong|div|span|ul|ol|li|code|pre|h[1-6]|table|tr|td|th)\b[^>]*>/gi;

/** Prose as a one-line text: HTML tags, Markdown marks and list bullets removed. Example: '* `a` done' -> 'a done'. */
function cleanProse(text: string): string {
  return text
    .replace(HTML_TAGS, '')
    .replace(/^\s*(?:[-*+]|\d+\.)\s+/, '')
    .replace(/^#+\s*/, '')
    .replace(/`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The prose of a block as comment lines: tags removed, secrets redacted, never starting with TODO (that would read as a marker). */
function proseComments(block: ProseBlock, section: Section): string[] {
  return block.lines
    .filter((l) => !(l.line === section.line && section.depth === 0 && section.line > 0))
    .map((l) => redactCommand(l.text.replace(HTML_TAGS, '')).trimEnd())
    .filter((l) => l.trim() !== '')
    .map((l) => (/^\s*#*\s*TODO\b/i.test(l) ? `» ${l}` : l));
}

/** The message to wait for after a command: output lines after it in its block, then a "wait for `...`" line or a sample block, before the next command. */
function messageAfter(section: Section, at: { block: number; line: number }): LogMessage | undefined {
  const block = section.blocks[at.block];
  // In a console block every line without a `$ ` prompt is output.
  const session = block?.type === 'code' && /^(?:console|shell-session)/.test(block.lang);
  const after = (block?.type === 'code' ? block.lines : []).filter(
    (l) => l.line > at.line && l.text.trim() !== '' && !l.text.trim().startsWith('#'),
  );
  const first = after[0];
  if (first) {
    if (!isOutputLine(first.text) && !(session && !first.text.trim().startsWith('$'))) return undefined;
    const pattern = patternOfSample(first.text);
    if (pattern) return { pattern, line: first.line, from: `the sample line ${first.line}`, guessed: false };
  }
  for (const next of section.blocks.slice(at.block + 1)) {
    if (next.type === 'code') {
      if (!isSampleBlock(next) && commandLines(next).length > 0) return undefined;
      for (const line of next.lines) {
        const pattern = patternOfSample(line.text);
        if (pattern)
          return { pattern, line: line.line, from: `the sample line ${line.line}`, guessed: false };
      }
    }
    if (next.type === 'prose') {
      for (const line of next.lines) {
        const message = waitMessage(line, next.codes);
        if (message) {
          return {
            pattern: escapeRegex(message.text),
            line: message.line,
            from: `the text at line ${message.line}`,
            guessed: namesAThing(message.text),
          };
        }
      }
    }
  }
  return undefined;
}

/** The message of a sample log line: ellipses, timestamp and level removed, as a regex. Example: '... INFO  Skipping rebalancing (nothing scheduled) ...' -> 'Skipping rebalancing \\(nothing scheduled\\)'. */
export function patternOfSample(text: string): string | undefined {
  const message = text
    .trim()
    .replace(/^(?:\.\.\.|…)\s*/, '')
    .replace(/\s*(?:\.\.\.|…)$/, '')
    .replace(/^\[?\d{4}-\d\d-\d\d(?:[T ][\d:.,]+)?(?:Z|[+-]\d\d:?\d\d)?\]?\s*/, '')
    .replace(/^\[?\d\d:\d\d(?::\d\d)?(?:[.,]\d+)?\]?\s*/, '')
    .replace(/^\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)\s*\]?\s*/i, '')
    .trim();
  if (message === '' || message.startsWith('#')) return undefined;
  return escapeRegex(message).replace(/ {2,}/g, ' +');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** YAML sample blocks after block `b` of a section, up to the next block of commands. */
function yamlSamplesAfter(section: Section, b: number): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  for (const next of section.blocks.slice(b + 1)) {
    if (next.type !== 'code') continue;
    if (!isSampleBlock(next)) {
      if (commandLines(next).length > 0) break;
      continue;
    }
    if (/^ya?ml\b/.test(next.lang))
      out.push({ line: next.line, text: next.lines.map((l) => l.text).join('\n') });
  }
  return out;
}

/** A process.stop followed in its phase by a process.start gets that start as its `restart` (its undo). */
function linkRestarts(phase: PhaseDraft): void {
  const steps = phase.entries.flatMap((e) => ('step' in e ? [e.step] : []));
  steps.forEach((step, i) => {
    if (step.kind !== 'process.stop' || step.params.restart !== undefined) return;
    const start = steps.slice(i + 1).find((s) => s.kind === 'process.start');
    if (!start) return;
    step.params.restart = start.params.command;
    if (start.params.cwd !== undefined) step.params.cwd = start.params.cwd;
  });
}
