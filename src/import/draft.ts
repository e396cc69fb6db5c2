/**
 * Writes the draft runbook with the yaml Document API, so the document's prose, its quoted
 * commands (`# FILE:LINE $ command`) and the TODO markers are real YAML comments next to the
 * steps they explain. The output is deterministic (no dates, no absolute paths).
 */
import { Document, isMap, isSeq, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { slug } from '../runbook/load.js';
import type { PhaseDraft, StepDraft } from './model.js';
import type { ParamDraft, SecretDraft } from './placeholders.js';

/** What the writer needs. Example: `{ file: 'seed.md', phases, params, secrets, header: ['intro'], trailer: [] }`. */
export interface DraftInput {
  file: string;
  phases: readonly PhaseDraft[];
  params: readonly ParamDraft[];
  secrets: readonly SecretDraft[];
  /** The document's title (its first level-1 heading), for the description. */
  title?: string;
  /** Prose before the first phase. */
  header: readonly string[];
  /** Comments after the last phase (sections without steps at the end, rollback notes). */
  trailer: readonly string[];
}

/** Comment text for the yaml library: one leading space per line, so `# text`. */
function commentText(lines: readonly string[]): string {
  return lines.map((l) => (l === '' ? '' : ` ${l}`)).join('\n');
}

/** Short maps of scalars read best on one line: `service.stop: { unit: nginx }`. */
function flowIfShort(node: Node | null | undefined): void {
  if (!node) return;
  if (isMap(node)) {
    const json = JSON.stringify(node.toJSON());
    const scalars = node.items.every(
      (p) =>
        !isMap(p.value) && !(isSeq(p.value) && (p.value as YAMLSeq).items.some((i) => isMap(i) || isSeq(i))),
    );
    if (scalars && json.length <= 70) node.flow = true;
    for (const pair of node.items) {
      if (isSeq(pair.value)) pair.value.flow = true;
      else flowIfShort(pair.value as Node);
    }
  }
}

function stepNode(doc: Document, step: StepDraft, file: string, before: string[]): YAMLMap {
  const value: Record<string, unknown> = {
    id: step.id,
    source: `${file}:${step.line}`,
    ...(step.todo.length > 0 ? { todo: [...new Set(step.todo)].join('; ') } : {}),
    [step.kind]: step.params,
    ...(step.extra ?? {}),
  };
  const node = doc.createNode(value) as YAMLMap;
  const kindPair = node.items.find((p) => (p.key as Scalar).value === step.kind) as Pair<Scalar, Node>;
  flowIfShort(kindPair.value);
  const lines = [...before, ...step.quotes];
  if (lines.length > 0) node.commentBefore = commentText(lines);
  return node;
}

function phaseNode(doc: Document, phase: PhaseDraft, file: string): YAMLMap {
  const node = doc.createNode({ id: phase.id, name: phase.name, hosts: phase.hosts, steps: [] }) as YAMLMap;
  const hostsPair = node.items.find((p) => (p.key as Scalar).value === 'hosts') as Pair<Scalar, Node>;
  if (isSeq(hostsPair.value)) hostsPair.value.flow = true;
  if (phase.hostsTodo) hostsPair.key.commentBefore = commentText([`TODO ${phase.hostsTodo}`]);
  const steps = node.get('steps', true) as unknown as YAMLSeq;
  let pending: string[] = [];
  for (const entry of phase.entries) {
    if ('comment' in entry) {
      pending.push(...entry.comment);
      continue;
    }
    steps.items.push(stepNode(doc, entry.step, file, pending));
    pending = [];
  }
  if (pending.length > 0) steps.comment = commentText(pending);
  if (phase.before.length > 0) node.commentBefore = commentText(phase.before);
  return node;
}

/** A runbook name from the document's file name. Example: runbookName('000_242cadced4fd0863.txt') -> '000-242cadced4fd0863'. */
export function runbookName(file: string): string {
  return slug(file.replace(/\.[A-Za-z0-9]+$/, '')) || 'imported-runbook';
}

/**
 * The draft runbook as YAML text. Example: draftYaml(input) starts with
 * `# Draft runbook imported by \`cutover import\` from seed.md.` and passes `cutover validate`.
 */
export function draftYaml(input: DraftInput): string {
  const doc = new Document();
  doc.commentBefore = commentText([
    `Draft runbook imported by \`cutover import\` from ${input.file}.`,
    'Review it before use: each TODO is a `cutover validate` warning; resolve it, then delete it.',
    `Comments \`${input.file}:LINE $ command\` quote the document above the steps made from them;`,
    'its prose is kept as comments. Params stand for the placeholders the document leaves open.',
    ...(input.header.length > 0 ? ['', ...input.header] : []),
  ]);
  const params = Object.fromEntries(
    input.params.map((p) => [
      p.name,
      {
        type: p.type,
        required: true,
        description: p.description
          ? `${p.description} (line ${p.line})`
          : `${p.placeholder} in the document (line ${p.line})`,
      },
    ]),
  );
  const secrets = Object.fromEntries(
    input.secrets.map((s) => [
      s.name,
      { description: s.description, from: [{ env: s.env }, { prompt: true }] },
    ]),
  );
  const root = doc.createNode({
    name: runbookName(input.file),
    description: `${input.title ? `${input.title}: ` : ''}imported from ${input.file}; a draft to review`,
    ...(input.params.length > 0 ? { params } : {}),
    ...(input.secrets.length > 0 ? { secrets } : {}),
    phases: [],
  }) as YAMLMap;
  for (const pair of root.items) {
    const key = (pair.key as Scalar).value;
    if (key === 'params' || key === 'secrets') {
      for (const item of (pair.value as YAMLMap).items) flowIfShort(item.value as Node);
    }
  }
  const phases = root.get('phases', true) as unknown as YAMLSeq;
  for (const phase of input.phases) phases.items.push(phaseNode(doc, phase, input.file));
  doc.contents = root;
  if (input.trailer.length > 0) doc.comment = commentText(input.trailer);
  const text = doc.toString({ lineWidth: 0 });
  return text.endsWith('\n') ? text : `${text}\n`;
}
