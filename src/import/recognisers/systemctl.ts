import { draft, type Recogniser } from './context.js';
import { fallback } from './fallback.js';
import { hintOf, needsShell, operands } from './support.js';

/** `systemctl stop|start|restart UNIT...` (also `service UNIT stop`): one service.* step per unit; `systemctl status` becomes a read-only is-active check. */
export const systemctl: Recogniser = (cmd, words, ctx) => {
  if (cmd.stages.length > 1) return undefined;
  let verb: string | undefined;
  let units: string[];
  if (words[0]?.value === 'systemctl') {
    const args = operands(words.slice(1)).map((w) => w.value);
    verb = args[0];
    units = args.slice(1);
  } else if (words[0]?.value === 'service' && words.length === 3) {
    verb = words[2]?.value;
    units = [words[1]?.value as string];
  } else return undefined;
  const templated = units.map((u) => ctx.templater.template(u, ctx.line));
  if (templated.length === 0 || templated.some(needsShell)) return undefined;
  if (verb === 'stop' || verb === 'start' || verb === 'restart') {
    return {
      type: 'steps',
      recognised: true,
      why: `${words[0]?.value} ${verb}: service.${verb} (waits for the unit's state)`,
      steps: templated.map((unit) => draft(`service.${verb}`, { unit }, `${verb} ${hintOf(unit)}`, [])),
    };
  }
  if (verb === 'reload' || verb === 'reload-or-restart') {
    // No kind reloads a unit; a restart would be a different action. Shell, saying so.
    return fallback(
      cmd,
      ctx,
      `\`systemctl ${verb}\` has no step kind (service.restart would restart, not reload): it stays shell.run`,
    );
  }
  if (verb === 'status' || verb === 'is-active') {
    return {
      type: 'steps',
      recognised: true,
      why: `${words[0]?.value} ${verb} is a look at the units: a read-only check that they are active (retried while they start)`,
      steps: [
        draft(
          'shell.run',
          { command: `systemctl is-active ${templated.join(' ')}` },
          `check ${hintOf(templated[0] as string)} active`,
          [],
          { retries: 5, retry_delay: '2s' },
        ),
      ],
    };
  }
  return undefined;
};
