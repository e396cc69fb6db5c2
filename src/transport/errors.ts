import { CutoverError, ExitCode } from '../errors.js';

/**
 * A host could not be reached, its shell broke, or a file copy failed verification. The message
 * names the host (and address:port for ssh) and what happened; the hint says what to do.
 * Example: `new TransportError('web (root@10.0.0.10:22): cannot connect: Permission denied (publickey).', 'Load the key with ssh-add…', { host: 'web' })`.
 */
export class TransportError extends CutoverError {
  readonly exitCode = ExitCode.runFailed;
  readonly host: string;
  /** The tail of ssh's (or the host shell's) stderr, when there was one. */
  readonly stderr: string | undefined;
  /**
   * True when the host stayed unreachable through every reconnect attempt: nothing more can be
   * run there now (the engine stops that host's work and says so instead of trying each undo).
   */
  readonly unreachable: boolean;
  constructor(
    message: string,
    hint: string,
    detail: { host: string; stderr?: string; unreachable?: boolean },
  ) {
    super(message, hint);
    this.host = detail.host;
    this.stderr = detail.stderr;
    this.unreachable = detail.unreachable ?? false;
  }
}

/** The last `maxLines` non-empty lines of a stderr text, for error messages. Example: tail('a\n\nb\n') -> 'a\nb'. */
export function stderrTail(text: string, maxLines = 8): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-maxLines)
    .join('\n');
}
