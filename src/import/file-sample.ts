/**
 * A code block that shows the content of a file the text says to edit ("Edit
 * `/etc/shop/application.properties`:" then `server.port=8081`), not commands. The rules:
 * - The block's lead (the last line of the prose right before it, or an editor command ending
 *   the code block before it) says to edit, change, set or add to one file it names, in inline
 *   code or as a bare absolute path.
 * - The block is that file's sample when every line that is not blank or a comment is
 *   `key=value` or an `[section]` header (any info string), or, for a YAML file, the block reads
 *   as a YAML map of `key:` lines; a block in a data language (```properties, ```ini, ```yaml, …)
 *   after such a lead is the file's sample whatever its lines.
 * - A sample is never run: its lines become the keys of one edit step (see the editor
 *   recogniser), or a TODO saying which lines could not be read.
 * Pure functions over blocks.
 */
import { parseDocument, isMap } from 'yaml';
import type { KeyValueFormat } from '../steps/kind.js';
import { formatOf } from '../steps/text-edit.js';
import type { Block, InlineCode, SourceLine } from './markdown.js';

/** The file a sample block shows and the line of the text that says to edit it. Example: `{ file: '/etc/my.cnf', line: 12 }`. */
export interface FileSample {
  file: string;
  line: number;
  /** The text says to add the lines ("Add to …") rather than to set them. */
  adds: boolean;
}

const EDIT_VERB =
  /\b(?:edit|change|modify|update|set|add|append|put)\b(?!\s+up\b)|измени|отредакт|правит|установи|добав|пропиш|修改|编辑|设置|添加|追加|加入|配置/i;
const ADDS = /\b(?:add|append)\b|добав|添加|追加|加入/i;

/** Data languages: a block tagged so after an edit lead is that file's content. */
const DATA_LANGS =
  /^(?:properties|ini|cfg|conf|config|dosini|env|dotenv|toml|ya?ml|text|txt|plain|plaintext|java-properties)$/;

const SHELL_LANGS = new Set(['', 'sh', 'bash', 'shell', 'zsh', 'ksh']);

/** A bare or inline-code absolute file path a line names (`/etc/mysql/my.cnf:` -> '/etc/mysql/my.cnf'). */
function pathsIn(text: string, codes: readonly InlineCode[]): string[] {
  const fromCode = codes.map((c) => c.value.trim()).filter((v) => /^\/\S+$/.test(v));
  const bare = [
    ...text.replace(/`[^`]*`/g, ' ').matchAll(/(?:^|[\s(（«"“'])(\/[\w.@+-]+(?:\/[\w.@+-]+)+)/g),
  ].map((m) => (m[1] as string).replace(/[.,;:]+$/, ''));
  return [...new Set([...fromCode, ...bare])].filter((p) => /\/[^/]*\.[A-Za-z0-9]{1,12}$|^\/etc\//.test(p));
}

/** The one file a line says to edit, if it says so. Example: 'Edit /etc/mysql/my.cnf:' -> '/etc/mysql/my.cnf'. */
export function editedFileOf(text: string, codes: readonly InlineCode[]): string | undefined {
  if (!EDIT_VERB.test(text)) return undefined;
  const paths = pathsIn(text, codes);
  return paths.length === 1 ? paths[0] : undefined;
}

/** True when the text says to add lines rather than to set them ("Add to …", "добавить", "添加"). */
export function saysAdd(text: string): boolean {
  return ADDS.test(text) && !/\b(?:edit|change|set)\b|измени|установи|修改|设置/i.test(text);
}

const KEY_VALUE = /^\s*([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$/;
/** `key: value`, a .properties separator too. */
const KEY_COLON = /^\s*([A-Za-z_][\w.-]*)\s*:\s+(.*?)\s*$/;
const SECTION = /^\s*\[([^\]\s][^\]]*)\]\s*$/;

function contentLines(lines: readonly SourceLine[]): SourceLine[] {
  return lines.filter((l) => l.text.trim() !== '' && !/^\s*[#;!]/.test(l.text));
}

/** True when every content line is `key=value` or `[section]` (`key: value` too in a .properties file), one `key=value` at least. */
function looksKeyValue(lines: readonly SourceLine[], file: string): boolean {
  const content = contentLines(lines);
  const colon = formatOf(file) === 'properties';
  return (
    content.some((l) => KEY_VALUE.test(l.text)) &&
    content.every((l) => KEY_VALUE.test(l.text) || SECTION.test(l.text) || (colon && KEY_COLON.test(l.text)))
  );
}

/** True when the lines read as a YAML map whose top-level lines are all `key:` lines. */
function looksYaml(lines: readonly SourceLine[]): boolean {
  const content = contentLines(lines);
  if (content.length === 0 || !content.every((l) => /^\s/.test(l.text) || /^[\w.-]+:(?:\s|$)/.test(l.text)))
    return false;
  const doc = parseDocument(lines.map((l) => l.text).join('\n'));
  return doc.errors.length === 0 && isMap(doc.contents);
}

const isYamlFile = (file: string) => /\.ya?ml$/i.test(file);

/** True when a code block after a lead naming `file` shows that file's content. */
function isSampleOf(block: Extract<Block, { type: 'code' }>, file: string): boolean {
  const lang = block.lang.split(/\s/)[0] ?? '';
  if (DATA_LANGS.test(lang)) return true;
  if (!SHELL_LANGS.has(lang)) return false;
  return isYamlFile(file) ? looksYaml(block.lines) : looksKeyValue(block.lines, file);
}

const EDITOR = /^\s*(?:\$\s+)?(?:sudo\s+)?(?:nano|vi|vim|vim\.tiny|nvim|emacs|mcedit|joe)\s+(\/\S+)\s*$/;

/** The file the block before block `b` says to edit: the last line of prose, or an editor command ending a code block. */
function leadOf(blocks: readonly Block[], b: number): FileSample | undefined {
  const before = blocks[b - 1];
  if (before?.type === 'prose') {
    const last = [...before.lines].reverse().find((l) => l.text.trim() !== '');
    if (!last) return undefined;
    const file = editedFileOf(
      last.text,
      before.codes.filter((c) => c.line === last.line),
    );
    return file ? { file, line: last.line, adds: saysAdd(last.text) } : undefined;
  }
  if (before?.type === 'code') {
    const last = [...before.lines].reverse().find((l) => l.text.trim() !== '');
    const m = last && EDITOR.exec(last.text);
    return m && last ? { file: m[1] as string, line: last.line, adds: false } : undefined;
  }
  return undefined;
}

/** The blocks with each file sample marked (`sample` on the code block). Example: see the module comment. */
export function markFileSamples(blocks: readonly Block[]): Block[] {
  return blocks.map((block, b) => {
    if (block.type !== 'code') return block;
    const lead = leadOf(blocks, b);
    return lead && isSampleOf(block, lead.file) ? { ...block, sample: lead } : block;
  });
}

/** One key of a key=value sample. Example: `{ key: 'max_connections', section: 'mysqld', value: '500', line: 14 }`. */
export interface SampleKey {
  key: string;
  section?: string;
  value: string;
  line: number;
}

/** The keys of a key=value sample and the lines it could not read as keys of `format`. */
export function readKeyValueSample(
  lines: readonly SourceLine[],
  format: KeyValueFormat,
): { keys: SampleKey[]; unread: SourceLine[] } {
  const keys: SampleKey[] = [];
  const unread: SourceLine[] = [];
  let section: string | undefined;
  for (const l of contentLines(lines)) {
    const header = SECTION.exec(l.text);
    if (header && format === 'ini') {
      section = (header[1] as string).trim();
      continue;
    }
    const kv = KEY_VALUE.exec(l.text) ?? (format === 'properties' ? KEY_COLON.exec(l.text) : null);
    // A quoted env or ini value: set writes the raw text inside the file's own quotes; a person writes it.
    if (!kv || (format !== 'properties' && /^["']/.test(kv[2] as string))) {
      unread.push(l);
      continue;
    }
    keys.push({
      key: kv[1] as string,
      value: kv[2] as string,
      line: l.line,
      ...(section ? { section } : {}),
    });
  }
  return { keys, unread };
}

/** The dialect a sample is read in: from the file name, else from the block's language; undefined when neither says. */
export function sampleFormat(file: string, lang: string): KeyValueFormat | undefined {
  const byName = formatOf(file);
  if (byName) return byName;
  if (/^(?:ini|dosini)$/.test(lang)) return 'ini';
  if (/^(?:env|dotenv)$/.test(lang)) return 'env';
  if (/^(?:java-)?properties$/.test(lang)) return 'properties';
  return undefined;
}
