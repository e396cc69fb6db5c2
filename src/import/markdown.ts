/**
 * Markdown -> a flat list of blocks (headings, list-item starts, prose, code) with their source
 * lines, then -> sections (the future phases). Parsing is remark's (unified + remark-parse);
 * prose keeps its raw source lines so inline `code` and placeholders survive as written.
 */
import type { Code, Heading, List, ListItem, Nodes, Root, RootContent } from 'mdast';
import remarkParse from 'remark-parse';
import { unified } from 'unified';

/** One line of the document. Example: `{ line: 23, text: 'cd /opt' }`. */
export interface SourceLine {
  line: number;
  text: string;
}

/** A span of inline code in prose. Example: `{ line: 13, value: 'ecsc-1' }`. */
export interface InlineCode {
  line: number;
  value: string;
}

/** A block of the document, in reading order. Example: `{ type: 'code', line: 17, lang: 'sh', fenced: true, lines: [...] }`. */
export type Block =
  /** A heading; `raw` is its source line (with inline `code` marks). */
  | { type: 'heading'; line: number; depth: number; text: string; raw: string }
  /** The start of a top-level ordered list item: `5. Stop the node` -> `{ number: '5', text: 'Stop the node' }`. */
  | { type: 'item'; line: number; number: string; text: string; raw: string }
  | { type: 'prose'; line: number; lines: SourceLine[]; codes: InlineCode[] }
  /**
   * A fenced or indented code block; `lines` are its content lines (fences excluded) with their line numbers.
   * `sample`: the block shows the content of a file the text before it says to edit (see file-sample.ts).
   */
  | {
      type: 'code';
      line: number;
      lang: string;
      fenced: boolean;
      lines: SourceLine[];
      sample?: { file: string; line: number; adds: boolean };
    };

/** A run of blocks under one heading or numbered item: what becomes a phase. Example: `{ number: '2.1', title: 'ecsc服务', line: 11, blocks }`. */
export interface Section {
  /** `2.1` for `### 2.1 ecsc服务`, `5` for the list item `5. ...`; undefined when unnumbered. */
  number?: string;
  /** The heading or item text without its number; '' for the part before the first section. */
  title: string;
  /** Line of the heading or item; 0 for the preamble. */
  line: number;
  /** The heading's source line, or the item's first line ('' for the preamble). */
  raw: string;
  /** Heading depth (1 for `#`); 0 for numbered items and the preamble. */
  depth: number;
  blocks: Block[];
}

/** How the document is cut into sections. `headings` when some heading has code under it, else `items` (top-level numbered list items). */
export type SectionMode = 'headings' | 'items';

/**
 * Parses Markdown into blocks in reading order. Example: parseBlocks('# Up\n\n```sh\nls\n```\n')
 * -> [{ type: 'heading', line: 1, depth: 1, text: 'Up' }, { type: 'code', line: 3, lang: 'sh', ... }].
 */
export function parseBlocks(text: string): Block[] {
  const lines = text.split(/\r?\n/);
  const tree = unified().use(remarkParse).parse(text) as Root;
  const blocks: Block[] = [];
  for (const node of tree.children) visit(node, lines, blocks, true);
  return blocks;
}

function visit(node: RootContent, lines: string[], out: Block[], topLevel: boolean): void {
  const start = node.position?.start.line ?? 1;
  const end = node.position?.end.line ?? start;
  switch (node.type) {
    case 'heading':
      out.push({
        type: 'heading',
        line: start,
        depth: (node as Heading).depth,
        text: plainText(node),
        raw: (lines[start - 1] ?? '').trim(),
      });
      return;
    case 'code':
      out.push(codeBlock(node as Code, lines));
      return;
    case 'list': {
      const list = node as List;
      list.children.forEach((item: ListItem, i) => {
        const itemLine = item.position?.start.line ?? start;
        if (topLevel && list.ordered) {
          const number = String((list.start ?? 1) + i);
          const first = item.children[0];
          const title = first && first.type === 'paragraph' ? (plainText(first).split('\n')[0] ?? '') : '';
          out.push({
            type: 'item',
            line: itemLine,
            number,
            text: title.trim(),
            raw: (lines[itemLine - 1] ?? '').trim(),
          });
        }
        for (const child of item.children) visit(child, lines, out, false);
      });
      return;
    }
    case 'thematicBreak':
    case 'definition':
      return;
    default: {
      // Paragraphs, HTML, blockquotes, tables: kept as written, for comments and prose recognisers.
      const source = range(lines, start, end);
      if (source.every((l) => l.text.trim() === '')) return;
      out.push({ type: 'prose', line: start, lines: source, codes: inlineCodes(node) });
    }
  }
}

function codeBlock(node: Code, lines: string[]): Block {
  const start = node.position?.start.line ?? 1;
  const end = node.position?.end.line ?? start;
  const firstSourceLine = lines[start - 1] ?? '';
  const fenced = /^\s*(```|~~~)/.test(firstSourceLine);
  const value = node.value === '' ? [] : node.value.split('\n');
  // A fenced block's content starts on the line after the fence; an indented one on its first line.
  const first = fenced ? start + 1 : start;
  const content = value.map((text, i) => ({ line: first + i, text }));
  const last = fenced ? end - 1 : end;
  return {
    type: 'code',
    line: start,
    lang: (node.lang ?? '').toLowerCase(),
    fenced,
    lines: content.filter((l) => l.line <= last),
  };
}

function range(lines: string[], start: number, end: number): SourceLine[] {
  const out: SourceLine[] = [];
  for (let n = start; n <= end; n++) out.push({ line: n, text: (lines[n - 1] ?? '').trimEnd() });
  return out;
}

function inlineCodes(node: Nodes): InlineCode[] {
  const out: InlineCode[] = [];
  const walk = (n: Nodes) => {
    if (n.type === 'inlineCode') out.push({ line: n.position?.start.line ?? 0, value: n.value });
    if ('children' in n) for (const child of n.children as Nodes[]) walk(child);
  };
  walk(node);
  return out;
}

function plainText(node: Nodes): string {
  if (node.type === 'text' || node.type === 'inlineCode') return node.value;
  if ('children' in node) return (node.children as Nodes[]).map(plainText).join('');
  return '';
}

/**
 * Headings decide when some heading a runbook runs forward has a code block under it; otherwise
 * top-level numbered items do. `forward` tells a heading the runbook runs from one it never runs
 * forward (a rollback, another environment), so a `## Rollback` after numbered items does not
 * make them one section; nor does the document's one `#` title. Example: seed 000 (no headings) -> `items`.
 */
export function sectionMode(
  blocks: readonly Block[],
  forward: (title: string) => boolean = () => true,
): SectionMode {
  // The document's one `#` title heads everything: code under it alone does not make headings decide.
  const titles = blocks.filter((b) => b.type === 'heading' && b.depth === 1).length;
  let underHeading = false;
  for (const block of blocks) {
    if (block.type === 'heading') underHeading = forward(block.text) && !(block.depth === 1 && titles === 1);
    else if (block.type === 'code' && underHeading) return 'headings';
  }
  return 'items';
}

const NUMBERED_LINE = /^\s*(\d+)\.\s+(\S.*)$/;
const HEADING_NUMBER = /^\s*(\d+(?:\.\d+)*)(?:\.\s*|\s+)(\S.*)$/;

/**
 * Cuts blocks into sections by headings or numbered items (see `sectionMode`). In `items` mode a
 * prose line like `7. repeat item 5` inside a paragraph also starts a section, since Markdown
 * only lets a list that starts at 1 interrupt a paragraph. The first section is the preamble.
 * Example: sections(parseBlocks(seed)).map((s) => s.number) -> [undefined, '0', '1', ...].
 */
export function sections(
  blocks: readonly Block[],
  forward: (title: string) => boolean = () => true,
  mode = sectionMode(blocks, forward),
): Section[] {
  const out: Section[] = [{ title: '', line: 0, raw: '', depth: 0, blocks: [] }];
  const current = () => out[out.length - 1] as Section;
  // In items mode a heading not run forward starts a section, and so does the heading that ends it; items under it stay in it.
  let aside: number | undefined;
  for (const block of blocks) {
    const startsAside = mode === 'items' && block.type === 'heading' && !forward(block.text);
    const endsAside =
      mode === 'items' && block.type === 'heading' && aside !== undefined && block.depth <= aside;
    if (block.type === 'heading' && mode === 'items')
      aside = startsAside ? block.depth : endsAside ? undefined : aside;
    if (block.type === 'heading' && (mode === 'headings' || startsAside || endsAside)) {
      const m = HEADING_NUMBER.exec(block.text);
      out.push({
        ...(m ? { number: m[1] as string } : {}),
        title: (m ? (m[2] as string) : block.text).trim(),
        line: block.line,
        raw: block.raw,
        depth: block.depth,
        blocks: [],
      });
      continue;
    }
    if (mode === 'items' && block.type === 'item' && aside === undefined) {
      out.push({
        number: block.number,
        title: block.text,
        line: block.line,
        raw: block.raw,
        depth: 0,
        blocks: [],
      });
      continue;
    }
    if (mode === 'items' && block.type === 'prose' && aside === undefined) {
      let part: SourceLine[] = [];
      const flush = () => {
        if (part.length > 0) current().blocks.push(proseOf(part, block.codes));
        part = [];
      };
      block.lines.forEach((line, i) => {
        const m = i > 0 ? NUMBERED_LINE.exec(line.text) : null;
        if (m) {
          flush();
          out.push({
            number: m[1] as string,
            title: (m[2] as string).trim(),
            line: line.line,
            raw: line.text.trim(),
            depth: 0,
            blocks: [],
          });
        }
        part.push(line);
      });
      flush();
      continue;
    }
    current().blocks.push(block);
  }
  return out;
}

function proseOf(lines: SourceLine[], codes: readonly InlineCode[]): Block {
  const first = lines[0]?.line ?? 0;
  const last = lines[lines.length - 1]?.line ?? first;
  return {
    type: 'prose',
    line: first,
    lines,
    codes: codes.filter((c) => c.line >= first && c.line <= last),
  };
}
