/**
 * Ansible's INI inventory, read as its `ini` plugin reads it:
 * - `[group]` sections list hosts, `[group:vars]` key=value lines, `[group:children]` group names;
 *   lines before any section are hosts of `ungrouped`. A `:vars` or `:children` section naming a
 *   group the file never declares is an error, as in Ansible.
 * - A host line is a pattern (`web[01:03]`, `db-[a:c]`, `web1:2222` for a port) and `key=value`
 *   words; quotes keep spaces; values are typed like Python literals (`2` is a number, `"2"` text).
 * - Comments: a line starting with `#` or `;`; after a word, ` #` or ` ;` to the end of the line.
 *   Ansible also ends a host line at a `#` inside a word (`pw=a#b` is `pw=a`): cutover does the
 *   same and warns. In `:vars` values Ansible keeps ` # note` as part of the value; cutover strips
 *   it (quote the value to keep a ` #`).
 */
import type { Loc } from '../../source/loc.js';
import {
  type AnsibleInventory,
  addHost,
  emptyAnsible,
  group,
  type ParseContext,
  report,
  type Vars,
} from './model.js';
import { expandPattern, MAX_HOSTS, splitPort } from './range.js';

interface Word {
  text: string;
  col: number;
}

/** Splits a line into words with their 1-based columns, honouring quotes; stops at a comment. */
export function splitWords(line: string): { words: Word[]; midWordHash?: number } {
  const words: Word[] = [];
  let i = 0;
  let midWordHash: number | undefined;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i] as string)) i++;
    if (i >= line.length || line[i] === '#' || line[i] === ';') break;
    const start = i;
    let quote: string | undefined;
    let ended = false;
    for (; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '#') {
        midWordHash = i + 1;
        ended = true;
        break;
      } else if (/\s/.test(c as string)) break;
    }
    words.push({ text: line.slice(start, i), col: start + 1 });
    if (ended) break;
  }
  return { words, ...(midWordHash !== undefined ? { midWordHash } : {}) };
}

export function unquote(text: string): string {
  const m = /^(['"])(.*)\1$/s.exec(text);
  return m ? (m[2] as string) : text;
}

/** Host-line values are Python literals in Ansible: numbers and booleans are typed, the rest is text. */
export function literalValue(text: string): unknown {
  if (/^(['"]).*\1$/s.test(text)) return unquote(text);
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'True' || text === 'true') return true;
  if (text === 'False' || text === 'false') return false;
  return text;
}

/** A `:vars` value: everything after `=`, an unquoted ` #`/` ;` comment stripped, quotes removed. */
function varsValue(raw: string): unknown {
  let quote: string | undefined;
  let end = raw.length;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if ((c === '#' || c === ';') && (i === 0 || /\s/.test(raw[i - 1] as string))) {
      end = i;
      break;
    }
  }
  return unquote(raw.slice(0, end).trim());
}

const SECTION = /^\[([^\]]*)\]\s*(?:[#;].*)?$/;
const GROUP_NAME = /^[^:\]\s[]+$/;

/** Parses one INI inventory file. Problems go to `ctx`; `hostBudget` is what the other sources left of MAX_HOSTS. */
export function parseIni(text: string, ctx: ParseContext, hostBudget = MAX_HOSTS): AnsibleInventory {
  const inv = emptyAnsible();
  const at = (line: number, col: number): Loc => ({ file: ctx.file, line, col });
  const declared = new Set(['all', 'ungrouped']);
  const pendingVars = new Map<string, Loc>();
  const pendingChildren = new Map<string, { loc: Loc; parent: string }>();
  let hostCount = 0;
  let section: { group: string; kind: 'hosts' | 'vars' | 'children' } = { group: 'ungrouped', kind: 'hosts' };
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const lineNo = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    const indent = rawLine.length - rawLine.trimStart().length;
    const header = SECTION.exec(trimmed);
    if (header) {
      const [name = '', kind = 'hosts', ...extra] = (header[1] as string).split(':');
      if (!GROUP_NAME.test(name) || extra.length || !['hosts', 'vars', 'children'].includes(kind)) {
        report(
          ctx,
          at(lineNo, indent + 1),
          '',
          `invalid section [${header[1]}]: expected [group], [group:vars] or [group:children] (no spaces)`,
        );
        section = { group: '', kind: 'hosts' };
        return;
      }
      section = { group: name, kind: kind as 'hosts' | 'vars' | 'children' };
      group(inv, name, at(lineNo, indent + 2));
      if (kind === 'vars') {
        if (!declared.has(name) && !pendingVars.has(name)) pendingVars.set(name, at(lineNo, indent + 2));
      } else {
        declared.add(name);
        pendingChildren.delete(name);
      }
      return;
    }
    if (trimmed.startsWith('[') && trimmed.endsWith(']')) {
      report(ctx, at(lineNo, indent + 1), '', `invalid section ${trimmed}: remove the spaces inside [ ]`);
      section = { group: '', kind: 'hosts' };
      return;
    }
    if (!section.group) return; // inside an invalid section, already reported
    if (section.kind === 'vars') {
      const m = /^([^=\s]+)\s*=(.*)$/.exec(trimmed);
      if (!m) {
        report(
          ctx,
          at(lineNo, indent + 1),
          `${section.group}:vars`,
          `expected key=value, found "${trimmed}"`,
        );
        return;
      }
      group(inv, section.group, at(lineNo, indent + 1)).vars[m[1] as string] = {
        value: varsValue(m[2] as string),
        loc: at(lineNo, indent + 1),
      };
      return;
    }
    const { words, midWordHash } = splitWords(rawLine);
    if (midWordHash !== undefined)
      report(
        ctx,
        at(lineNo, midWordHash),
        section.group,
        'Ansible reads the rest of this line after # as a comment, and so does cutover: quote the value if # belongs to it',
        'warning',
      );
    if (section.kind === 'children') {
      const child = words[0];
      if (!child) return;
      if (words.length > 1)
        report(
          ctx,
          at(lineNo, (words[1] as Word).col),
          `${section.group}:children`,
          'expected one child group name per line',
        );
      const g = group(inv, section.group, at(lineNo, child.col));
      if (!g.children.includes(child.text)) g.children.push(child.text);
      group(inv, child.text, at(lineNo, child.col));
      if (!declared.has(child.text) && !pendingChildren.has(child.text))
        pendingChildren.set(child.text, { loc: at(lineNo, child.col), parent: section.group });
      return;
    }
    const [first, ...assignments] = words as [Word, ...Word[]];
    if (!first) return;
    const vars: Vars = {};
    for (const word of assignments) {
      const eq = word.text.indexOf('=');
      if (eq <= 0) {
        report(
          ctx,
          at(lineNo, word.col),
          `${section.group}/${first.text}`,
          `expected key=value after the host name, found "${word.text}"`,
        );
        continue;
      }
      vars[word.text.slice(0, eq)] = {
        value: literalValue(word.text.slice(eq + 1)),
        loc: at(lineNo, word.col),
      };
    }
    const { pattern, port, portIndex } = splitPort(first.text);
    if (port !== undefined) {
      const n = Number(port);
      if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
        report(
          ctx,
          at(lineNo, first.col + (portIndex ?? 0)),
          `${section.group}/${first.text}`,
          `expected a port number (1-65535) after "${pattern}:", found "${port}"`,
        );
        return;
      }
      vars.ansible_port ??= { value: n, loc: at(lineNo, first.col + (portIndex ?? 0)) };
    }
    const expanded = expandPattern(pattern, hostBudget - hostCount);
    if ('error' in expanded) {
      report(
        ctx,
        at(lineNo, first.col + expanded.index),
        `${section.group}/${pattern}`,
        `${expanded.error}. Fix the host pattern`,
      );
      return;
    }
    hostCount += expanded.hosts.length;
    for (const host of expanded.hosts) addHost(inv, section.group, host, vars, at(lineNo, first.col));
  });
  for (const [name, loc] of pendingVars)
    if (!declared.has(name))
      report(
        ctx,
        loc,
        `${name}:vars`,
        `section [${name}:vars] is for a group this file never declares: add a [${name}] or [${name}:children] section (Ansible refuses it too)`,
      );
  for (const [name, { loc, parent }] of pendingChildren)
    if (!declared.has(name))
      report(
        ctx,
        loc,
        `${parent}:children`,
        `[${parent}:children] names group ${name}, which this file never declares: add a [${name}] section (Ansible refuses it too)`,
      );
  return inv;
}
