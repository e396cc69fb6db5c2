/**
 * The lab's scenarios by name, for `cutover lab up --scenario NAME`. `plain` takes a host count;
 * the seed scenarios have fixed hosts. Example: makeScenario('plain', { hosts: 3 }).hosts.length -> 3.
 */
import type { Scenario } from '../scenario.js';
import { comindwareScenario } from './comindware.js';
import { ecscBalancedScenario, ecscScenario } from './ecsc.js';
import { type PlainOptions, plainScenario } from './plain.js';

/** Every scenario, by name; `plain` with its default of 2 hosts. Example: scenarios.comindware.hosts[0].name -> 'web'. */
export const scenarios: Readonly<Record<Scenario['name'], Scenario>> = {
  comindware: comindwareScenario,
  ecsc: ecscScenario,
  plain: plainScenario(),
};

/** Scenario names, for help texts and errors. Example: scenarioNames -> ['comindware', 'ecsc', 'plain']. */
export const scenarioNames = Object.keys(scenarios) as Scenario['name'][];

/**
 * The scenario called `name`; options apply to `plain` only. Throws with the known names otherwise.
 * Example: makeScenario('comindware') -> comindwareScenario.
 */
export function makeScenario(
  name: string,
  plain: PlainOptions = {},
  opts: { balancer?: boolean } = {},
): Scenario {
  if (name === 'plain') return plainScenario(plain);
  if (opts.balancer && name !== 'ecsc')
    throw new Error(
      `--balancer applies to the ecsc scenario only (an HAProxy host in front of its nodes), not to "${name}"`,
    );
  if (opts.balancer) return ecscBalancedScenario;
  const scenario = scenarios[name as Scenario['name']];
  if (!scenario)
    throw new Error(`unknown lab scenario "${name}": expected one of ${scenarioNames.join(', ')}`);
  if (plain.hosts !== undefined || plain.firstAddress !== undefined) {
    throw new Error(
      `--hosts and --first-address apply to the plain scenario only, not to "${name}" (its hosts are fixed)`,
    );
  }
  return scenario;
}
