/**
 * What the document says after a command, which recognisers may look ahead to: the log message
 * a `tail -f` waits for (an output line, a sample block, or a "wait for `...`" line) and the
 * YAML samples an editor stub takes its keys from. Pure functions of a section.
 */
import { commandLines, isSampleBlock } from './commands.js';
import type { FileSampleBlock } from './recognisers/context.js';
import type { Block, Section } from './markdown.js';
import { namesAThing, waitMessage } from './prose.js';
import type { LogMessage } from './recognisers/index.js';
import { isOutputLine } from './commands.js';

/**
 * The message to wait for at a command: output lines after it in its block, then a "wait for
 * `...`" line or a sample block before the next command; else a "wait until `...` appears" in
 * the text right before its block.
 */
export function messageAt(section: Section, at: { block: number; line: number }): LogMessage | undefined {
  return messageAfter(section, at) ?? messageBefore(section, at.block);
}

/** A "wait until `...` appears" line in the prose right before block `b`. */
function messageBefore(section: Section, b: number): LogMessage | undefined {
  const previous = section.blocks[b - 1];
  if (previous?.type !== 'prose') return undefined;
  for (const line of [...previous.lines].reverse()) {
    const message = waitMessage(line, previous.codes);
    if (message) {
      return {
        pattern: escapeRegex(message.text),
        line: message.line,
        from: `the text at line ${message.line}`,
        guessed: namesAThing(message.text),
      };
    }
  }
  return undefined;
}

/** The message to wait for after a command: output lines after it in its block, then a "wait for `...`" line or a sample block, before the next command. */
export function messageAfter(section: Section, at: { block: number; line: number }): LogMessage | undefined {
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

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** YAML sample blocks after block `b` of a section, up to the next block of commands. */
export function yamlSamplesAfter(section: Section, b: number): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  for (const next of section.blocks.slice(b + 1)) {
    if (next.type !== 'code') continue;
    if (!isSampleBlock(next)) {
      if (commandLines(next).length > 0) break;
      continue;
    }
    if (/^ya?ml\b/.test(next.lang) || /\.ya?ml$/i.test(next.sample?.file ?? ''))
      out.push({ line: next.line, text: next.lines.map((l) => l.text).join('\n') });
  }
  return out;
}

/** The file samples (see file-sample.ts) after block `b` of a section, up to the next block of commands. */
export function fileSamplesAfter(section: Section, b: number): FileSampleBlock[] {
  const out: FileSampleBlock[] = [];
  for (const next of section.blocks.slice(b + 1)) {
    if (next.type !== 'code') continue;
    if (next.sample) out.push({ ...next.sample, lang: next.lang.split(/\s/)[0] ?? '', lines: next.lines });
    else if (!isSampleBlock(next) && commandLines(next).length > 0) break;
  }
  return out;
}

/** True when the block after `b` is a code block with commands. */
export function commandsFollow(blocks: readonly Block[], b: number): boolean {
  const next = blocks[b + 1];
  return next?.type === 'code' && commandLines(next).length > 0;
}
