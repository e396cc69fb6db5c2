import { Command, CommanderError } from 'commander';
import { CutoverError, ExitCode, InputError } from '../errors.js';
import { COMMAND_MODULES, modulesFor, valueOptions } from './commands.js';
import { EXIT_CODES_DOC } from './exit-codes.js';

const program = new Command('cutover')
  .description(
    'Rolling upgrades from runbooks: validated, previewed, run over SSH node by node, journaled, resumable and reversible.',
  )
  .version('0.1.0')
  .option(
    '--state-dir <dir>',
    'where runs are journaled and locks kept (default .cutover, or $CUTOVER_STATE_DIR)',
  )
  .option(
    '--state <url>',
    'shared state of every controller in PostgreSQL (postgres://user@host/db; default $CUTOVER_STATE_URL, else `state:` in cutover.config.yml); runs still journal to --state-dir first',
  )
  .option(
    '--ssh-config <file>',
    'the ssh config ssh reads (ssh -F; default $CUTOVER_SSH_CONFIG, else ~/.ssh/config as ssh does)',
  )
  .option(
    '--connect-concurrency <n>',
    'connections set up at once, at preflight and later (default $CUTOVER_CONNECT_CONCURRENCY, else 10: OpenSSH MaxStartups)',
  )
  .option(
    '--keep-open <n>',
    'hosts not in flight that keep their connection; the others reconnect when needed (default $CUTOVER_KEEP_OPEN, else 100)',
  )
  .option('-K, --ask-become-pass', 'ask once for the sudo password of hosts and steps with become')
  .option(
    '--become-password-file <file>',
    'read the sudo password from this file (default $CUTOVER_BECOME_PASSWORD; never in the inventory)',
  )
  .option('--json', 'machine output: one JSON object per line')
  .option(
    '-v, --verbose',
    'more detail, repeatable: -v every command in full (plan: the exact commands per host); -vv also every command on every host (probes, log marks, polls) with exit code, time and output, on stderr; -vvv also OpenSSH -v of each master and session, on stderr',
    (_value: string, level: number) => level + 1,
    0,
  )
  .addHelpText('after', `\n${EXIT_CODES_DOC}`)
  .exitOverride();

// `cutover plan | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

/**
 * The one top-level catch (no top-level await: the single executable is CommonJS): expected
 * failures become exit codes, anything else is a bug.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // The hidden entry point of the completion scripts knows every command: it loads them all.
  const completing = args[0] === '__complete';
  // Only the modules this command line needs (`--version` loads none; `status` the journal views).
  const modules = completing ? COMMAND_MODULES : modulesFor(args, valueOptions(program));
  for (const register of await Promise.all(modules.map((m) => m.load()))) register(program);
  if (completing) {
    // Candidates on stdout, never an error.
    (await import('./completion.js')).completionEntry(program, args.slice(1));
    return;
  }
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    report(e);
  }
}

function report(e: unknown): void {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : ExitCode.invalidInput;
  } else if (e instanceof CutoverError) {
    // --json: invalid input as data on stdout too (every problem, one per line, then the verdict).
    if (program.opts().json && e instanceof InputError) {
      for (const p of e.problems) process.stdout.write(`${JSON.stringify(p)}\n`);
      process.stdout.write(
        `${JSON.stringify({ valid: false, exitCode: e.exitCode, error: e.message, ...(e.hint ? { hint: e.hint } : {}) })}\n`,
      );
    }
    process.stderr.write(`cutover: ${e.describe()}\n`);
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(
      `cutover: unexpected error — this is a bug, please report it with this output:\n${(e as Error).stack ?? String(e)}\n`,
    );
    process.exitCode = ExitCode.bug;
  }
}

main().catch(report);
