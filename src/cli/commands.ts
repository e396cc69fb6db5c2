import type { Command } from 'commander';

/**
 * Every command's module, loaded only when that command runs: `cutover --version` loads none of
 * them and `cutover status` only the journal views, so a command never pays for compiling the
 * runbook schema, the step kinds or the transports it does not use. Help, an unknown command and
 * no command at all load every module (in this order, the order `cutover --help` lists them).
 * Example: `for (const r of await registrarsFor(process.argv.slice(2), program)) r(program)`.
 */
export interface CommandModule {
  /** The top-level command names the module registers. */
  names: readonly string[];
  load: () => Promise<(program: Command) => void>;
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ['validate'], load: async () => (await import('./validate.js')).registerValidate },
  { names: ['plan'], load: async () => (await import('./plan.js')).registerPlan },
  {
    names: ['apply', 'resume', 'rollback'],
    load: async () => (await import('./run.js')).registerRunCommands,
  },
  { names: ['runs', 'status'], load: async () => (await import('./runs.js')).registerRunViews },
  { names: ['report'], load: async () => (await import('./report.js')).registerReport },
  { names: ['serve'], load: async () => (await import('./serve.js')).registerServe },
  { names: ['unlock'], load: async () => (await import('./unlock.js')).registerUnlock },
  { names: ['state'], load: async () => (await import('./shared-state.js')).registerStateCommands },
  { names: ['docs'], load: async () => (await import('./docs.js')).registerDocs },
  { names: ['lab'], load: async () => (await import('./lab.js')).registerLabCommands },
  { names: ['import'], load: async () => (await import('./import.js')).registerImport },
  { names: ['completion'], load: async () => (await import('./completion.js')).registerCompletion },
];

/**
 * The command word of a command line: the first argument that is neither an option nor the
 * value of a global option that takes one (`--state-dir DIR`); undefined when there is none.
 * Example: `commandWord(['--state-dir', 'x', 'status'], new Set(['--state-dir']))` -> 'status'.
 */
export function commandWord(args: readonly string[], takesValue: ReadonlySet<string>): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') return args[i + 1];
    if (!a.startsWith('-') || a === '-') return a;
    if (!a.includes('=') && takesValue.has(a)) i++;
  }
  return undefined;
}

/**
 * The modules a command line needs: the one that registers its command word; none for a bare
 * `--version`/`-V`; every module otherwise (help, no command, an unknown or mistyped command,
 * so commander lists them all or suggests the nearest).
 */
export function modulesFor(
  args: readonly string[],
  takesValue: ReadonlySet<string>,
): readonly CommandModule[] {
  const word = commandWord(args, takesValue);
  if (word === undefined) {
    const version = args.includes('--version') || args.includes('-V');
    const help = args.includes('--help') || args.includes('-h');
    if (version && !help) return [];
    return COMMAND_MODULES;
  }
  const one = COMMAND_MODULES.find((m) => m.names.includes(word));
  return one ? [one] : COMMAND_MODULES;
}

/** The global options of `program` that take a value, by every flag they answer to. */
export function valueOptions(program: Command): Set<string> {
  const out = new Set<string>();
  for (const o of program.options) {
    if (!o.required && !o.optional) continue;
    if (o.long) out.add(o.long);
    if (o.short) out.add(o.short);
  }
  return out;
}
