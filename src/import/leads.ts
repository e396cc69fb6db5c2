/**
 * The text right before a code block says what its commands are: "If it is still running after
 * 60 s, kill it:" (a condition cutover cannot check: no step, a TODO), "On staging it is simply:"
 * (another environment: no step), "Re-run every 30 s until it prints 0" (a poll). Pure functions
 * of a section and its command lines.
 */
import { firstHostSentence } from './hosts.js';
import type { Section } from './markdown.js';
import { cleanProse } from './phase.js';
import { conditionOf, outputCheckOf, type PollRequest, pollOf, saysElsewhere } from './prose.js';
import { draft, type Recognition, type RecogniseContext } from './recognisers/context.js';
import { lookingNote, looksOnly } from './recognisers/waits.js';
import { escapeRegex } from './lookahead.js';

/** What the rules need to know of a section. */
export interface LeadFacts {
  section: Section;
  units: readonly LeadUnit[];
  inRollback: boolean;
  /** The title of the section (or a parent) about another environment. */
  elsewhere: string | undefined;
  leads: ReadonlyMap<number, Lead>;
}

/** A command line of a section: its block, its text, its parts once read. */
export interface LeadUnit {
  block: number;
  command: { line: number; text: string };
  parts: readonly unknown[];
}

/** The text right before a code block, and what it says about the block's commands. */
export interface Lead {
  line: number;
  text: string;
  /** "If it is still running after 60 s, kill it:": the commands run only if this holds. */
  condition?: string;
  /** "Re-run every 30 s until it prints 0". */
  poll?: PollRequest;
  /** "The output must be empty" / "must say `X`": what the one command's output must be. */
  check?: { empty: true } | { contains: string };
  /** "On staging it is simply:": the commands are for another environment. */
  elsewhere: boolean;
  /** "On `app01`:" before a block that is not the section's first: the hosts its commands run on. */
  hosts?: { hosts: string[]; line: number };
}

/** The lead of each code block of a section: the last paragraph before it (its lines joined). */
export function leadsOf(section: Section, known: readonly string[] = []): Map<number, Lead> {
  const out = new Map<number, Lead>();
  const first = section.blocks.findIndex((b) => b.type === 'code');
  section.blocks.forEach((block, b) => {
    const previous = section.blocks[b - 1];
    if (block.type !== 'code' || previous?.type !== 'prose') return;
    const text = previous.lines
      .map((l) => l.text.trim())
      .filter(Boolean)
      .join(' ');
    const condition = conditionOf(text);
    const poll = pollOf(text);
    const check = outputCheckOf(text);
    // The first block's lead is the section's: it gives the phase its hosts.
    const said = b === first ? undefined : firstHostSentence(previous, known);
    out.set(b, {
      line: previous.line,
      text: cleanProse(text),
      ...(condition ? { condition } : {}),
      ...(poll ? { poll } : {}),
      ...(check ? { check } : {}),
      elsewhere: saysElsewhere(text),
      ...(said?.cue ? { hosts: { hosts: said.hosts, line: said.line } } : {}),
    });
  });
  return out;
}

/**
 * True when the last command before block `b` of the section follows a log or an output: a
 * "wait for ..." line after it says what that wait waits for (its pattern), not a wait of its own.
 */
export function afterFollow(facts: LeadFacts, b: number): boolean {
  const before = facts.units.filter((u) => u.block < b);
  const last = before[before.length - 1];
  return last !== undefined && follows(last.command.text);
}

/**
 * What the text around a command makes of it before any recogniser: nothing for another
 * environment or a condition cutover cannot check (a TODO says so), a poll for "re-run every
 * 30 s until it prints 0". Undefined: the recognisers decide.
 */
export function blockRule(facts: LeadFacts, unit: LeadUnit, ctx: RecogniseContext): Recognition | undefined {
  const lead = facts.leads.get(unit.block);
  if (facts.elsewhere !== undefined || lead?.elsewhere) {
    const where =
      facts.elsewhere !== undefined
        ? `the section "${cleanProse(facts.elsewhere)}"`
        : `the text at line ${lead?.line}`;
    return {
      type: 'covered',
      why: `${where} is about another environment ("${lead?.text ?? cleanProse(facts.elsewhere ?? '')}"): not a step of this runbook; if it applies to these hosts, write it as a step`,
    };
  }
  if (facts.inRollback) return undefined;
  if (lead?.condition) {
    const kill = /^(?:sudo\s+)?(?:kill|pkill|killall)\b/.test(unit.command.text)
      ? ' (to kill what a stop leaves running: process.stop sends TERM, then KILL after its `grace`; a systemd unit has its own stop timeout)'
      : '';
    return {
      type: 'covered',
      why: `the document runs this only if "${lead.condition}" (line ${lead.line}): cutover cannot check that condition, so no step was made${kill}; write the check as a step (shell.run with unless:) or do it by hand`,
    };
  }
  const block = facts.section.blocks[unit.block];
  const single = block?.type === 'code' && facts.units.filter((u) => u.block === unit.block).length === 1;
  if (
    lead?.poll &&
    single &&
    unit.parts.length === 1 &&
    !follows(unit.command.text) &&
    !/^(?:until|while)\s/.test(unit.command.text)
  ) {
    return pollRule(lead.poll, lead.line, unit.command.text, ctx);
  }
  if (lead?.check && single && unit.parts.length === 1 && !follows(unit.command.text)) {
    return checkRule(lead.check, lead, unit.command.text, ctx);
  }
  return undefined;
}

/** True for a command that follows output forever (`tail -f`, `logs -f`): a poll would never end. */
export function follows(text: string): boolean {
  return /\s(?:-[A-Za-z]*[fF][A-Za-z]*|--follow)\b/.test(text) && /\b(?:tail|logs|journalctl)\b/.test(text);
}

function pollRule(poll: PollRequest, line: number, text: string, ctx: RecogniseContext): Recognition {
  const command = ctx.templater.template(text, ctx.line);
  const expect = poll.expect;
  const output =
    expect === undefined
      ? undefined
      : 'empty' in expect
        ? '^$'
        : 'equals' in expect
          ? `^${escapeRegex(expect.equals)}$`
          : escapeRegex(expect.contains);
  const delay = Math.max(1, Math.round(poll.delaySeconds));
  const until =
    expect === undefined
      ? "until it exits 0 (check that it fails until the document's condition holds)"
      : 'empty' in expect
        ? 'until it prints nothing and exits 0'
        : 'equals' in expect
          ? `until it prints ${expect.equals} and exits 0`
          : `until its output holds "${expect.contains}" and it exits 0`;
  return {
    type: 'steps',
    recognised: false,
    why: `poll: the text at line ${line} says to re-run it ${until.replace(/ and exits 0$/, '')}: wait.command`,
    steps: [
      draft(
        'wait.command',
        {
          command,
          ...(output !== undefined ? { output } : {}),
          interval: `${delay}s`,
          ...(ctx.cwd ? { cwd: ctx.cwd.path } : {}),
        },
        `wait ${text.split(/\s+/).slice(0, 2).join(' ')}`,
        [
          `the text at line ${line} says "${poll.text}": this step runs the command every ${delay} s ${until}, and fails after its timeout (10m by default); check the condition${output !== undefined ? ' (set any_exit: true if the command exits non-zero while printing that, like grep -c)' : ''} and the limit${looksOnly(text) ? '' : lookingNote}`,
        ],
      ),
    ],
  };
}

/** "Check that …; the output must be empty:" + a command: a check that fails unless the output is what the text says. */
function checkRule(
  check: { empty: true } | { contains: string },
  lead: Lead,
  text: string,
  ctx: RecogniseContext,
): Recognition {
  const cmd = ctx.templater.template(text, ctx.line);
  const command =
    'empty' in check ? `test -z "$(${cmd})"` : `${cmd} | grep -qF '${check.contains.replace(/'/g, "'\\''")}'`;
  const what = 'empty' in check ? 'to be empty' : `to hold "${check.contains}"`;
  return {
    type: 'steps',
    recognised: false,
    why: `a check: the text at line ${lead.line} says its output must be ${'empty' in check ? 'empty' : `"${check.contains}"`}`,
    steps: [
      draft(
        'shell.run',
        { command, ...(ctx.cwd ? { cwd: ctx.cwd.path } : {}) },
        `check ${text.split(/\s+/).slice(0, 2).join(' ')}`,
        [
          `the text at line ${lead.line} says "${lead.text}": this step fails unless the output of \`${text}\` is ${what.replace(/^to (be|hold) /, '')}; check that this is what the document means`,
        ],
      ),
    ],
  };
}
