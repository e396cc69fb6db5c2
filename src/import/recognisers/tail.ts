import type { TemplateUse } from '../placeholders.js';
import type { ShellWord } from '../shell-words.js';
import { draft, type LogMessage, type Recogniser } from './context.js';
import { dateNotes, nameOf, resolvePath } from './support.js';
import { grepPattern } from './waits.js';

const NEVER_MATCHES = 'TODO the log line that means done';

/** `tail -f LOG | grep PATTERN`, or `tail -f LOG` followed (or preceded) by a message to wait for: wait.log. */
export const tailFollow: Recogniser = (cmd, words, ctx) => {
  if (words[0]?.value !== 'tail' || cmd.stages.length > 2) return undefined;
  let grep: LogMessage | undefined;
  if (cmd.stages.length === 2) {
    const read = grepPattern(cmd.stages[1] as ShellWord[]);
    if (!read) return undefined;
    grep = { pattern: read.pattern, line: ctx.line, from: 'the grep after it', guessed: false };
  }
  const rest = words.slice(1);
  const follow = rest.some(
    (w) => /^-[A-Za-z0-9]*[fF][A-Za-z0-9]*$/.test(w.value) || w.value.startsWith('--follow'),
  );
  if (!follow) return undefined;
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const v = rest[i]?.value as string;
    if (v === '-n' || v === '-c' || v === '--lines' || v === '--bytes') i++;
    else if (!v.startsWith('-') && !/^\+?\d+$/.test(v)) files.push(v);
  }
  if (files.length !== 1) return undefined;
  const uses: TemplateUse[] = [];
  const path = resolvePath(files[0] as string, ctx, uses);
  if (!path) return undefined;
  const todo = [...path.notes, ...dateNotes(uses)];
  let message = grep ?? ctx.message();
  if (!message && /catalina\.out$/.test(path.path)) {
    message = {
      pattern: 'Server startup in',
      line: ctx.line,
      from: "Tomcat's usual start line",
      guessed: true,
    };
  }
  let why: string;
  if (!message) {
    todo.push(
      `the document only watches this log: write the line that means done as pattern (the placeholder "${NEVER_MATCHES}" never matches, so the wait times out rather than passing), and lines that mean failure as fail`,
    );
    why = 'tail -f without a message to wait for: wait.log with a pattern to write';
  } else {
    why = `tail -f + the message from ${message.from}: wait.log`;
    if (message.guessed)
      todo.push(`pattern taken from ${message.from}: check it against a real line of this log`);
  }
  return {
    type: 'steps',
    recognised: message !== undefined,
    why,
    steps: [
      draft(
        'wait.log',
        { path: path.path, pattern: message?.pattern ?? NEVER_MATCHES },
        `wait ${nameOf(path.path)}`,
        todo,
      ),
    ],
  };
};
