import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../inventory/load.js';
import { compile, templateScope } from '../plan/compile.js';
import type { Plan } from '../plan/types.js';
import { resolveParams, resolveSecrets } from '../runbook/inputs.js';
import { loadRunbook } from '../runbook/load.js';
import { Redactor } from '../shell/secret.js';
import type { Host } from '../inventory/model.js';

/** A runbook + inventory written to a temp folder and compiled, for engine and CLI tests. */
export interface Fixture {
  dir: string;
  runbookFile: string;
  inventoryFile: string;
  plan: Plan;
  redactor: Redactor;
  scope: (host: Host, neighbour?: Host) => ReturnType<typeof templateScope>;
}

export async function planFixture(
  runbookYaml: string,
  inventoryYaml: string,
  params: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-fixture-'));
  mkdirSync(dir, { recursive: true });
  const runbookFile = join(dir, 'runbook.yml');
  const inventoryFile = join(dir, 'inventory.yml');
  writeFileSync(runbookFile, runbookYaml);
  writeFileSync(inventoryFile, inventoryYaml);
  const inventory = await loadInventory(inventoryFile);
  const { runbook } = await loadRunbook(runbookFile, { inventory });
  const resolved = resolveParams(runbook, params);
  const secrets = await resolveSecrets(runbook, { env });
  const redactor = new Redactor();
  for (const s of Object.values(secrets)) redactor.add(s);
  const input = { runbook, inventory, params: resolved, secrets };
  return {
    dir,
    runbookFile,
    inventoryFile,
    plan: compile(input),
    redactor,
    scope: (h, n) => templateScope(input, h, n),
  };
}

/** An inventory of `names` with addresses 10.9.0.1.. (never contacted: for the recording transport). */
export function fakeInventory(names: string[], roles: Record<string, string[]> = {}): string {
  return groupedInventory(Object.fromEntries(names.map((n) => [n, undefined])), roles);
}

/** Like fakeInventory, each host with `vars.svc` (for `group_by: host.vars.svc`). Example: `{ a: 'x', b: 'y' }`. */
export function groupedInventory(
  svcByHost: Record<string, string | undefined>,
  roles: Record<string, string[]> = {},
): string {
  return [
    'cluster: test',
    'hosts:',
    ...Object.entries(svcByHost).map(
      ([n, svc], i) =>
        `  ${n}: { address: 10.9.0.${i + 1}, roles: [${(roles[n] ?? ['app']).join(', ')}]${svc === undefined ? '' : `, vars: { svc: ${svc} }`} }`,
    ),
    '',
  ].join('\n');
}
