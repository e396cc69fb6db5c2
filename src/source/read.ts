/**
 * Reading an input file (runbook, inventory, Markdown document): a file that cannot be read is an
 * InputError at its line 1, like any other problem with the input. The bytes are checked before
 * anything parses them: at most LIMITS.fileBytes, a regular file, valid UTF-8 (an invalid byte is
 * reported at its line:col, never shown as U+FFFD and passed on), no control characters but tab,
 * newline and carriage return.
 */
import { open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { CONTROL, describeChar, LIMITS } from './limits.js';

/**
 * The text of `file`, or an InputError `file:1:1: cannot read the <what>: <reason>` with `hint`.
 * Example: `await readInputFile('rb.yml', 'runbook')`.
 */
export async function readInputFile(
  file: string,
  what: string,
  hint = `Check the ${what} path (it is relative to the current folder).`,
): Promise<string> {
  const fail = (message: string, line = 1, col = 1, h = hint): never => {
    throw new InputError([{ file, line, col, path: '', message, severity: 'error' }], h);
  };
  let bytes: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) fail(`cannot read the ${what}: not a regular file`);
      // Read at most one byte past the limit: a device or a growing file never fills memory.
      const buffer = Buffer.alloc(Math.min(stat.size, LIMITS.fileBytes) + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length === buffer.length) break;
      }
      if (length > LIMITS.fileBytes)
        fail(
          `the ${what} is larger than ${LIMITS.fileBytes / 1024 / 1024} MiB, the limit for an input file`,
          1,
          1,
          'Split it, or keep large data in files the runbook uploads (file.upload).',
        );
      bytes = buffer.subarray(0, length);
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    return fail(`cannot read the ${what}: ${reason}`);
  }
  return checkedText(bytes, file, what);
}

/** Decodes UTF-8 strictly and refuses control characters, each at its line:col. */
export function checkedText(bytes: Uint8Array, file: string, what: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, at));
    const { line, col } = lineCol(before, before.length);
    throw new InputError(
      [
        {
          file,
          line,
          col,
          path: '',
          message: `the ${what} is not valid UTF-8: byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')} at offset ${at}`,
          severity: 'error',
        },
      ],
      'Save the file as UTF-8 (e.g. iconv -f cp1251 -t utf-8).',
    );
  }
  const m = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.exec(text);
  if (m && CONTROL.test(m[0])) {
    const { line, col } = lineCol(text, m.index);
    throw new InputError(
      [
        {
          file,
          line,
          col,
          path: '',
          message: `the ${what} holds the control character ${describeChar(m[0])}, which would be printed raw or dropped by the shell`,
          severity: 'error',
        },
      ],
      'Remove it; write the text it stands for instead.',
    );
  }
  return text;
}

function lineCol(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: index - start + 1 };
}

/** Offset of the first byte that breaks UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    const n =
      b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (n === 0) return i;
    for (let k = 1; k < n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(i, i + n));
    } catch {
      return i;
    }
    i += n;
  }
  return bytes.length;
}
