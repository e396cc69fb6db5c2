/**
 * A phase of the draft as a value: made from a section, given comments and steps (each a new
 * phase, never changed in place), its hosts read from the section's lead or widened by a repeat,
 * and its stops linked to the starts after them. Pure.
 */
import { slug } from '../runbook/load.js';
import type { Block, Section } from './markdown.js';
import type { PhaseDraft, ProseRecord, StepDraft, StepSpec } from './model.js';
import {
  type DocHosts,
  firstHostSentence,
  type HostSentence,
  negatedHosts,
  negates,
  sentences,
} from './hosts.js';
import { hostNames, isElsewhereTitle, isRollbackTitle, saysAllHosts } from './prose.js';
import { redactCommand } from './redact.js';

type ProseBlock = Extract<Block, { type: 'prose' }>;

/**
 * The empty phase a section becomes, its id unique among `taken`.
 * Example: newPhase({ title: '2.1 ecsc服务', number: '2.1', ... }, 3, 'seed.md', []) -> { id: '2-1-ecsc', hosts: 'all', entries: [], ... }.
 */
export function newPhase(
  section: Section,
  index: number,
  file: string,
  taken: readonly string[],
): PhaseDraft {
  return {
    id: phaseId(section, index, taken),
    name: phaseName(section, file),
    line: section.line,
    ...(section.number !== undefined ? { number: section.number } : {}),
    hosts: 'all',
    before: [],
    entries: [],
  };
}

function phaseId(section: Section, index: number, taken: readonly string[]): string {
  const words = slug(section.title);
  const number = section.number?.replace(/\./g, '-');
  let base: string;
  if (/[a-z]{2}/.test(words)) base = number ? `${number}-${words}` : words;
  else if (number) base = section.depth === 0 ? `item-${number}` : `section-${number}`;
  else base = index === 0 ? 'start' : `phase-${index}`;
  base = base.slice(0, 40).replace(/-+$/, '');
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  return id;
}

/** True when the phase holds a step (not only comments). */
export function hasSteps(phase: PhaseDraft): boolean {
  return phase.entries.some((e) => 'step' in e);
}

/** The phase with comment lines added (none: the same phase). */
export function withComment(phase: PhaseDraft, lines: string[]): PhaseDraft {
  return lines.length > 0 ? { ...phase, entries: [...phase.entries, { comment: lines }] } : phase;
}

/**
 * The phase with a step added, its id made from the hint and unique in the phase.
 * Example: withStep(phase, { kind: 'service.stop', idHint: 'stop nginx', ... }, 12, true) -> [phase', { id: 'stop-nginx', ... }].
 */
export function withStep(
  phase: PhaseDraft,
  spec: StepSpec,
  line: number,
  recognised: boolean,
  quotes: string[] = [],
): [PhaseDraft, StepDraft] {
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
  return [{ ...phase, entries: [...phase.entries, { step }] }, step];
}

/**
 * The phase's hosts from the section's title and the prose before its first code block, and what
 * the report says about them: hosts in inline code; else host names in a sentence that says where
 * or in which order ("First pg-03, then pg-02"); else the document's stated order (a guess, with
 * a TODO); else "every node"; else a TODO. Host names without such a sentence are a guess too.
 */
export function withInitialHosts(
  section: Section,
  phase: PhaseDraft,
  doc: DocHosts = { names: [], addresses: new Map() },
): [PhaseDraft, ProseRecord[]] {
  const firstCode = section.blocks.findIndex((b) => b.type === 'code');
  const lead = section.blocks
    .slice(0, firstCode < 0 ? undefined : firstCode)
    .filter((b): b is ProseBlock => b.type === 'prose');
  const leadText = [section.raw, ...lead.flatMap((b) => b.lines.map((l) => l.text))].join('\n');
  const titleCodes = [...section.raw.matchAll(/`([^`]+)`/g)].map((m) => ({
    line: section.line,
    value: m[1] as string,
  }));
  const named = hostNames([...titleCodes, ...lead.flatMap((b) => b.codes)], doc.names);
  const runs = (hosts: string[], line: number, text: string) => ({
    line,
    text,
    effect: `phase ${phase.id} runs on ${hosts.join(', ')}`,
  });
  if (named.length > 0) {
    const negated = negatedHosts([{ lines: [{ line: section.line, text: section.raw }] }, ...lead], named);
    const todo = negated
      ? {
          hostsTodo: `the text at line ${negated.line} names ${named.join(', ')} in "${cleanProse(negated.text)}": if it excludes them, these are the wrong hosts; list the hosts this phase runs on`,
        }
      : {};
    return [{ ...phase, hosts: named, ...todo }, [runs(named, section.line, section.raw)]];
  }
  const said = [{ lines: [{ line: section.line, text: cleanProse(section.raw) }] }, ...lead].reduce<
    HostSentence | undefined
  >((found, block) => found ?? firstHostSentence(block, doc.names), undefined);
  if (said) {
    const todo = said.cue
      ? {}
      : {
          hostsTodo: `hosts taken from the text at line ${said.line} ("${cleanProse(said.text)}"): check that they are the hosts of this phase, in this order`,
        };
    return [{ ...phase, hosts: said.hosts, ...todo }, [runs(said.hosts, said.line, said.text)]];
  }
  if (doc.order) {
    const { order } = doc;
    return [
      {
        ...phase,
        hosts: order.hosts,
        hostsTodo: `hosts and order from line ${order.line} ("${cleanProse(order.text)}"), since "${cleanProse(section.raw || section.title || 'this section')}" names none: check that this phase runs on each of them, one after the other`,
      },
      [runs(order.hosts, order.line, order.text)],
    ];
  }
  if (saysAllHosts(leadText)) {
    // "On every node except the leader": not every node.
    const blocks = [{ lines: [{ line: section.line, text: section.raw }] }, ...lead];
    const except = blocks.flatMap(sentences).find((s) => saysAllHosts(s.text) && negates(s.text));
    if (!except) return [phase, []];
    return [
      {
        ...phase,
        hostsTodo: `the text at line ${except.line} says "${cleanProse(except.text)}": list the hosts this phase runs on (every host is a guess)`,
      },
      [],
    ];
  }
  const oneByOne = doc.oneByOne
    ? `; line ${doc.oneByOne.line} says "${cleanProse(doc.oneByOne.text)}": if the phases are one host's procedure, make them one phase`
    : '';
  return [
    {
      ...phase,
      hostsTodo: `which hosts run this phase, in which order? The document says: "${cleanProse(section.raw || section.title || 'nothing')}"${oneByOne}`,
    },
    [],
  ];
}

/** The phase also run on `hosts` (a repeat at `line`); a TODO when they are not named or the phase runs on all. */
export function withMoreHosts(phase: PhaseDraft, hosts: readonly string[], line: number): PhaseDraft {
  if (hosts.length === 0) {
    return {
      ...phase,
      hostsTodo: `line ${line} repeats these steps on more hosts without naming them: list them here`,
    };
  }
  if (phase.hosts === 'all') {
    return {
      ...phase,
      hostsTodo: `${phase.hostsTodo ? `${phase.hostsTodo}; ` : ''}line ${line} also names ${hosts.join(', ')}`,
    };
  }
  const current = phase.hosts;
  return { ...phase, hosts: [...current, ...hosts.filter((h) => !current.includes(h))] };
}

/** A section is in the rollback when its title or one of its parent headings is about rolling back. */
export function inRollback(sections: readonly Section[], index: number): boolean {
  return titleAbove(sections, index, isRollbackTitle) !== undefined;
}

/** The title of section `index` or of a parent heading about another environment (staging, Kubernetes), if any. */
export function elsewhereOf(sections: readonly Section[], index: number): string | undefined {
  return titleAbove(sections, index, isElsewhereTitle);
}

/** Not a forward part of the runbook: a rollback or another environment. */
export function notForward(sections: readonly Section[], index: number): boolean {
  return inRollback(sections, index) || elsewhereOf(sections, index) !== undefined;
}

/** The first title, from section `index` up through its parent headings, that passes `test`. */
function titleAbove(
  sections: readonly Section[],
  index: number,
  test: (title: string) => boolean,
): string | undefined {
  const section = sections[index];
  if (!section) return undefined;
  if (test(section.title)) return section.title;
  let depth = section.depth;
  for (let i = index - 1; i > 0 && depth > 1; i--) {
    const earlier = sections[i] as Section;
    if (earlier.depth === 0 || earlier.depth >= depth) continue;
    if (test(earlier.title)) return earlier.title;
    depth = earlier.depth;
  }
  return undefined;
}

/** A process.stop followed in its phase by a process.start gets that start as its `restart` (its undo). */
export function linkRestarts(phase: PhaseDraft): PhaseDraft {
  const steps = phase.entries.flatMap((e) => ('step' in e ? [e.step] : []));
  const linked = (step: StepDraft, i: number): StepDraft => {
    if (step.kind !== 'process.stop' || step.params.restart !== undefined) return step;
    const start = steps.slice(i + 1).find((s) => s.kind === 'process.start');
    if (start?.kind !== 'process.start') return step;
    const cwd = start.params.cwd !== undefined ? { cwd: start.params.cwd } : {};
    return { ...step, params: { ...step.params, restart: start.params.command, ...cwd } };
  };
  let i = -1;
  return {
    ...phase,
    entries: phase.entries.map((e) => {
      if (!('step' in e)) return e;
      i++;
      return { step: linked(e.step, i) };
    }),
  };
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
export function cleanProse(text: string): string {
  return text
    .replace(HTML_TAGS, '')
    .replace(/^\s*(?:[-*+]|\d+\.)\s+/, '')
    .replace(/^#+\s*/, '')
    .replace(/`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The prose of a block as comment lines: tags removed, secrets redacted, never starting with TODO (that would read as a marker). */
export function proseComments(block: ProseBlock, section: Section): string[] {
  return block.lines
    .filter((l) => !(l.line === section.line && section.depth === 0 && section.line > 0))
    .map((l) => redactCommand(l.text.replace(HTML_TAGS, '')).trimEnd())
    .filter((l) => l.trim() !== '')
    .map((l) => (/^\s*#*\s*TODO\b/i.test(l) ? `» ${l}` : l));
}
