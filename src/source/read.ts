/**
 * Reading an input file (runbook, inventory, Markdown document): a file that cannot be read is an
 * InputError at its line 1, like any other problem with the input.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';

/**
 * The text of `file`, or an InputError `file:1:1: cannot read the <what>: <reason>` with `hint`.
 * Example: `await readInputFile('rb.yml', 'runbook')`.
 */
export async function readInputFile(
  file: string,
  what: string,
  hint = `Check the ${what} path (it is relative to the current folder).`,
): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new InputError(
      [{ file, line: 1, col: 1, path: '', message: `cannot read the ${what}: ${reason}`, severity: 'error' }],
      hint,
    );
  }
}
