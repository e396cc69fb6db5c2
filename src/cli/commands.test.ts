import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, commandWord, modulesFor } from './commands.js';

const values = new Set([
  '--state-dir',
  '--ssh-config',
  '--connect-concurrency',
  '--keep-open',
  '--become-password-file',
]);

describe('loading only the command that runs', () => {
  it('each module registers exactly the commands the table names for it', async () => {
    for (const m of COMMAND_MODULES) {
      const program = new Command('cutover');
      (await m.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual(m.names);
    }
  });

  it('finds the command word past global options and their values', () => {
    expect(commandWord(['--state-dir', 'status', 'plan'], values)).toBe('plan');
    expect(commandWord(['--state-dir=x', '-v', 'status', 'RUN'], values)).toBe('status');
    expect(commandWord(['-vv', '--json', 'runs'], values)).toBe('runs');
    expect(commandWord(['--json'], values)).toBeUndefined();
  });

  it('loads no command for --version, one for a known command, every one otherwise', () => {
    const names = (args: string[]) => modulesFor(args, values).flatMap((m) => m.names);
    expect(names(['--version'])).toEqual([]);
    expect(names(['-V'])).toEqual([]);
    expect(names(['--state-dir', 'x', 'status', 'RUN'])).toEqual(['runs', 'status']);
    expect(names(['lab', 'up'])).toEqual(['lab']);
    const all = COMMAND_MODULES.flatMap((m) => m.names);
    expect(names([])).toEqual(all);
    expect(names(['--help'])).toEqual(all);
    expect(names(['help', 'plan'])).toEqual(all);
    expect(names(['stauts'])).toEqual(all);
  });
});
