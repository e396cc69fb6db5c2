/**
 * Which hosts the document names and in which order: tables of hosts (a Host/Node/主机/Хост
 * column, an IP column), host names in its text, and sentences that give an order ("in the
 * order kafka-1, kafka-3, kafka-2", "сначала app02, потом app01", "按 nacos-3、nacos-2 的顺序").
 * Then, after the draft is built, every step whose command names one host while its phase runs
 * on others gets a TODO. Pure functions over the parsed document and the draft.
 */
import type { Block, SourceLine } from './markdown.js';
import type { CommandRecord, PhaseDraft } from './model.js';

type ProseBlock = Extract<Block, { type: 'prose' }>;

/** The hosts a document names. Example: `{ names: ['kafka-1', 'kafka-2'], addresses: Map { '10.2.0.11' => 'pg-01' }, order: { hosts: ['kafka-1', 'kafka-3'], line: 11, text: '...' } }`. */
export interface DocHosts {
  /** Host names in the order the document first names them. */
  names: string[];
  /** Address -> host name, from a table with both. */
  addresses: Map<string, string>;
  /** A sentence giving the order to work on all the hosts in, before the first command. */
  order?: HostSentence;
  /** A sentence before the first command that says to work one host at a time ("逐台", "по одному"). */
  oneByOne?: { line: number; text: string };
}

/** Hosts named in one sentence, in its order. Example: `{ hosts: ['pg-03', 'pg-02'], line: 22, text: 'First pg-03, then pg-02.' }`. */
export interface HostSentence {
  hosts: string[];
  line: number;
  text: string;
  /** The sentence says where or in which order ("on X", "first X, then Y"), not only that X exists. */
  cue: boolean;
}

const HOST_COLUMN =
  /^(?:host(?:name)?s?|nodes?|servers?|machines?|хост\S*|узел|узлы|сервер\S*|имя|主机(?:名)?|节点|服务器)$/i;
const ADDRESS_COLUMN = /^(?:ip|ip address|address|addr|адрес|ip-адрес|ip地址|地址)$/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** A host name as runbooks write them: `ecsc-1`, `schedule-res-2`, `app01` (zero-padded), or an IPv4 address. Example: isHostLike('app01') -> true, isHostLike('tomcat9') -> false. */
export function isHostLike(text: string): boolean {
  return (
    /^[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*-\d+$/.test(text) ||
    /^[A-Za-z][A-Za-z-]*0\d{1,2}$/.test(text) ||
    IPV4.test(text)
  );
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim().replace(/`/g, ''));
}

/** Hosts of a Markdown table whose header names a host column (and addresses from an address column). */
function tableHosts(lines: readonly SourceLine[]): { names: string[]; addresses: [string, string][] } {
  const rows = lines.filter((l) => l.text.trim().startsWith('|')).map((l) => cells(l.text));
  const header = rows[0];
  if (!header || rows.length < 3 || !/^:?-{2,}/.test(rows[1]?.[0] ?? '')) return { names: [], addresses: [] };
  const hostAt = header.findIndex((h) => HOST_COLUMN.test(h));
  const addressAt = header.findIndex((h) => ADDRESS_COLUMN.test(h));
  if (hostAt < 0) return { names: [], addresses: [] };
  const names: string[] = [];
  const addresses: [string, string][] = [];
  for (const row of rows.slice(2)) {
    const name = row[hostAt] ?? '';
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) continue;
    names.push(name);
    const address = addressAt >= 0 ? (row[addressAt] ?? '') : '';
    if (IPV4.test(address)) addresses.push([address, name]);
  }
  return { names, addresses };
}

const ORDER = /\b(?:order|first|then|followed by)\b|сначала|потом|затем|порядк|поочер|先|然后|顺序|依次/i;
const CUE = /\b(?:on|first|then|order)\b|сначала|потом|затем|порядк|(?:^|\s)на\s|先|然后|顺序|依次|登录|在/i;
const ONE_BY_ONE =
  /\bone (?:node|host|server|broker|machine)?\s*at a time\b|\b(?:node|host|server) by (?:node|host|server)\b|по одному|поочер|逐台|一台一台|依次/i;
const NEGATION =
  /\b(?:not|never|except|excluding|but|skip|don't)\b|(?:^|\s)(?:не|кроме|пропуст\S*|за исключением)\s|不|禁止|勿|除|跳过/i;

/** True when a sentence says "not", "except", "skip" (English, Russian, Chinese). Example: 'every node except the leader' -> true. */
export function negates(text: string): boolean {
  return NEGATION.test(text);
}

/** The first sentence naming one of `hosts` that says "not", "except", "skip": those hosts are excluded, not chosen. Example: 'Run on all nodes except `pg-01`.' -> that sentence. */
export function negatedHosts(
  blocks: readonly { lines: readonly SourceLine[] }[],
  hosts: readonly string[],
): { line: number; text: string } | undefined {
  for (const block of blocks) {
    for (const s of sentences(block)) {
      if (NEGATION.test(s.text) && hostsIn(s.text, hosts).some((h) => hosts.includes(h))) return s;
    }
  }
  return undefined;
}

/** Sentences of a prose block (its lines joined) with the line each starts on. */
export function sentences(block: { lines: readonly SourceLine[] }): { line: number; text: string }[] {
  const starts: { at: number; line: number }[] = [];
  let joined = '';
  for (const l of block.lines) {
    if (joined !== '') joined += ' ';
    starts.push({ at: joined.length, line: l.line });
    joined += l.text.trim();
  }
  const out: { line: number; text: string }[] = [];
  const lineAt = (at: number) => [...starts].reverse().find((s) => s.at <= at)?.line ?? 0;
  let from = 0;
  for (const m of joined.matchAll(/(?<=[.!?;])\s+|(?<=[。！？；])\s*/g)) {
    const text = joined.slice(from, m.index).trim();
    if (text !== '') out.push({ line: lineAt(from), text });
    from = (m.index ?? 0) + m[0].length;
  }
  const rest = joined.slice(from).trim();
  if (rest !== '') out.push({ line: lineAt(from), text: rest });
  return out;
}

/** Host names in a text, in order, without repeats: known names and host-like words. */
export function hostsIn(text: string, known: readonly string[]): string[] {
  const words = text.replace(/`/g, ' ').match(/[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]/g) ?? [];
  const found = words.filter((w) => known.includes(w) || isHostLike(w));
  return [...new Set(found)];
}

/** The hosts named in a sentence and whether it says where or in which order. Example: hostSentence('First pg-03, then pg-02.', 22, ['pg-02', 'pg-03']) -> { hosts: ['pg-03', 'pg-02'], cue: true, ... }. */
export function hostSentence(text: string, line: number, known: readonly string[]): HostSentence | undefined {
  const hosts = hostsIn(text, known);
  if (hosts.length === 0) return undefined;
  return { hosts, line, text: text.trim(), cue: CUE.test(text) && !NEGATION.test(text) };
}

/** The hosts a document names: its tables, the host names in the text before its first command, and the sentence giving their order there. */
export function docHosts(blocks: readonly Block[]): DocHosts {
  const names: string[] = [];
  const addresses = new Map<string, string>();
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  const firstCode = blocks.findIndex((b) => b.type === 'code');
  const prose = blocks.filter((b): b is ProseBlock => b.type === 'prose');
  for (const block of prose) {
    const table = tableHosts(block.lines);
    table.names.forEach(add);
    for (const [address, name] of table.addresses) addresses.set(address, name);
  }
  const lead = (firstCode < 0 ? blocks : blocks.slice(0, firstCode)).filter(
    (b): b is ProseBlock => b.type === 'prose',
  );
  for (const block of lead) for (const c of block.codes) if (isHostLike(c.value.trim())) add(c.value.trim());
  let order: HostSentence | undefined;
  let oneByOne: { line: number; text: string } | undefined;
  for (const block of lead) {
    if (block.lines.every((l) => l.text.trim().startsWith('|'))) continue;
    for (const s of sentences(block)) {
      const found = hostSentence(s.text, s.line, names);
      // An order of some hosts only ("the replicas first: redis-2, then redis-3") is no order of every phase.
      const all = found !== undefined && names.every((n) => found.hosts.includes(n));
      if (found && all && found.hosts.length >= 2 && ORDER.test(s.text) && !NEGATION.test(s.text) && !order)
        order = found;
      if (!oneByOne && ONE_BY_ONE.test(s.text)) oneByOne = { line: s.line, text: s.text };
    }
  }
  return { names, addresses, ...(order ? { order } : {}), ...(oneByOne ? { oneByOne } : {}) };
}

/** The hosts of the first sentence of a text that names some. */
export function firstHostSentence(
  block: { lines: readonly SourceLine[] },
  known: readonly string[],
): HostSentence | undefined {
  for (const s of sentences(block)) {
    const found = hostSentence(s.text, s.line, known);
    if (found) return found;
  }
  return undefined;
}

/** Loopback and unspecified addresses name no host of the cluster. */
const LOCAL = /^(?:127\.|0\.0\.0\.0$)/;

/** The hosts (names, or addresses with their name) a command names. Example: namedIn('restart pg-cluster pg-03', hosts) -> [{ text: 'pg-03', host: 'pg-03' }]. */
export function namedIn(
  command: string,
  known: readonly string[],
  addresses: ReadonlyMap<string, string>,
): { text: string; host: string }[] {
  const out: { text: string; host: string }[] = [];
  for (const name of known) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_-])`).test(command))
      out.push({ text: name, host: name });
  }
  // A host-like name the document never lists still names a host where a host goes: in a URL,
  // after `@`, as the target of ssh, or in the list of a `for h in app01 app02` loop.
  const places = [
    ...[...command.matchAll(/https?:\/\/([A-Za-z][\w-]*)(?=[:/]|$)|@([A-Za-z][\w-]*)/g)].map(
      (m) => (m[1] ?? m[2]) as string,
    ),
    ...[...command.matchAll(/\bssh\s+(?:-\w+(?:\s+(?!-)\S+)?\s+)*(?:[\w.-]+@)?([A-Za-z][\w-]*)/g)].map(
      (m) => m[1] as string,
    ),
    ...[...command.matchAll(/\bfor\s+\w+\s+in\s+([^;]+);/g)].flatMap((m) =>
      (m[1] as string).trim().split(/\s+/),
    ),
  ];
  for (const name of places) {
    if (isHostLike(name) && !out.some((o) => o.text === name)) out.push({ text: name, host: name });
  }
  for (const m of command.matchAll(/(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d])/g)) {
    const address = m[0];
    if (LOCAL.test(address) || out.some((o) => o.text === address)) continue;
    out.push({ text: address, host: addresses.get(address) ?? address });
  }
  return out;
}

/** The same hosts, in any order. */
function sameHosts(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h) => b.includes(h));
}

/**
 * Every step whose command names a host while its phase runs on other hosts (or on all) gets a
 * TODO saying so; so does a step copied by a repeat that names one. The records get it too.
 */
export function flagNamedHosts(
  phases: readonly PhaseDraft[],
  commands: readonly CommandRecord[],
  hosts: DocHosts,
): { phases: PhaseDraft[]; commands: CommandRecord[] } {
  const known = [
    ...new Set([...hosts.names, ...phases.flatMap((p) => (p.hosts === 'all' ? [] : p.hosts))]),
  ].filter((h) => !IPV4.test(h));
  const todos = new Map<number, string[]>();
  const flagged = phases.map((phase) => ({
    ...phase,
    entries: phase.entries.map((entry) => {
      if (!('step' in entry)) return entry;
      let step = entry.step;
      const record = commands.find((c) => c.line === step.line);
      if (!record) return entry;
      const on = phase.hosts === 'all' ? 'every host' : phase.hosts.join(', ');
      const note = (todo: string) => {
        if (step.copiedFrom === undefined) todos.set(record.line, [...(todos.get(record.line) ?? []), todo]);
        step = { ...step, todo: [...step.todo, todo] };
      };
      const runsOn = step.runsOn;
      if (runsOn && (phase.hosts === 'all' || !sameHosts(phase.hosts, runsOn.hosts))) {
        note(
          `the text at line ${runsOn.line} says to run this on ${runsOn.hosts.join(', ')}; this phase runs on ${on}: move it to a phase on ${runsOn.hosts.join(', ')}`,
        );
      }
      const named = namedIn(record.text, known, hosts.addresses);
      const only = phase.hosts !== 'all' && phase.hosts.length === 1 ? phase.hosts[0] : undefined;
      const fits = only !== undefined && named.every((n) => n.host === only || n.text === only);
      if (named.length > 0 && !fits && !(only !== undefined && step.copiedFrom === undefined)) {
        const list = named.map((n) => (n.host === n.text ? n.text : `${n.text} (${n.host})`)).join(', ');
        note(
          `the command names ${list} but this phase runs on ${on}${step.copiedFrom ? ` (the step is copied from phase ${step.copiedFrom})` : ''}: on the other hosts it still names ${named.length > 1 ? 'them' : 'it'}; run it in a phase on that host only, or write {{ host.name }} / {{ host.address }} where it means the host it runs on`,
        );
      }
      return { step };
    }),
  }));
  return {
    phases: flagged,
    commands: commands.map((c) =>
      todos.has(c.line) ? { ...c, todo: [...c.todo, ...(todos.get(c.line) ?? [])] } : c,
    ),
  };
}
