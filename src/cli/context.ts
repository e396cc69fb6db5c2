import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml } from 'yaml';
import { type InputProblem, InputError, UsageError } from '../errors.js';
import type { Host, Inventory } from '../inventory/model.js';
import { parseLimit, unmatchedPatterns } from '../inventory/limit.js';
import { loadInventories } from '../inventory/load.js';
import { compile, templateScope } from '../plan/compile.js';
import type { StepSelection } from '../plan/select.js';
import { allSteps, type Plan } from '../plan/types.js';
import { resolveParams, resolveSecrets } from '../runbook/inputs.js';
import { loadRunbook } from '../runbook/load.js';
import type { Runbook } from '../runbook/model.js';
import { Redactor, Secret } from '../shell/secret.js';
import {
  prefetchDumps,
  type ResolvedConnection,
  resolveArgs,
  resolveConnections,
} from '../transport/ssh-config.js';
import { tracedSession } from '../transport/trace.js';
import type { Session, Transport } from '../transport/transport.js';
import type { GlobalOptions } from './state.js';

export { type GlobalOptions, openJournal, runOrLatest, stateDir } from './state.js';

/** Options every command that reads a runbook shares. */
export interface InputOptions {
  runbook: string;
  /** One or more inventory sources (`-i` repeats; Ansible merges them in order). */
  inventory?: string | string[];
  param?: string[];
  /** `--limit HOSTS`: names, roles, globs, `!` exclusions. */
  limit?: string;
  /** `--only STEP…`: only these runbook steps. */
  only?: string[];
  /** `--from STEP`: this runbook step and every one after it. */
  from?: string;
}

/**
 * The sudo password for a run whose plan uses become, read once before anything connects:
 * `--become-password-file`, else $CUTOVER_BECOME_PASSWORD, else the `-K` prompt; undefined
 * when none is given (sudo without a password, NOPASSWD). It joins the redactor's secrets.
 * Example: `const password = await becomePassword(plan, global, redactor)`.
 */
export async function becomePassword(
  plan: Plan,
  opts: GlobalOptions,
  redactor: Redactor,
): Promise<string | undefined> {
  const uses =
    allSteps(plan).some((s) => s.runAs) ||
    plan.phases.some((p) => Object.values(p.drains).some((d) => d.runAs));
  if (!uses) return undefined;
  const value = await readBecomePassword(opts);
  if (value !== undefined) redactor.add(new Secret('become_password', value));
  return value;
}

/** The sudo password from `--become-password-file`, $CUTOVER_BECOME_PASSWORD or the `-K` prompt; undefined when none is given. */
export async function readBecomePassword(opts: GlobalOptions): Promise<string | undefined> {
  let value: string | undefined;
  if (opts.becomePasswordFile) {
    const file = resolve(opts.becomePasswordFile);
    try {
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new UsageError(
        `--become-password-file ${file}: ${(e as Error).message}`,
        'Name a readable file holding the sudo password (mode 0600). Nothing was changed.',
      );
    }
  } else if (process.env.CUTOVER_BECOME_PASSWORD) value = process.env.CUTOVER_BECOME_PASSWORD;
  else if (opts.askBecomePass) value = await promptHidden('sudo password (become)');
  return value === undefined || value === '' ? undefined : value;
}

/** Commander collector for a repeatable option (`-i a -i b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The `--limit` help text shared by plan and apply. */
export const LIMIT_HELP =
  'only these hosts: names, roles or globs (web*), comma-separated; !name leaves one out (e.g. --limit "app,!app-3")';

/** The `--only` help text shared by plan and apply. */
export const ONLY_HELP =
  "only these runbook steps: phase/step, a step id alone, or phase/* (repeatable or comma-separated); refused when a chosen step relies on one left out (a wait.log's since step, the backup.copy that undoes it)";

/** The `--from` help text shared by plan and apply. */
export const FROM_HELP =
  'this runbook step and every step after it (phase/step or a step id); refused when a step from there relies on one before it';

/** The `-p` help text shared by every command that takes params. */
export const PARAM_HELP =
  'runbook params: key=value, or @file.yml (a YAML map); repeatable, merged in order (a later value wins)';

/** The `-i` help text shared by every command that reads an inventory. */
export const INVENTORY_HELP =
  'inventory: cutover YAML, or Ansible INI/YAML file or folder (repeat -i to merge several, as Ansible does)';

/**
 * The ssh config file cutover hands to ssh: `--ssh-config`, else $CUTOVER_SSH_CONFIG, else
 * none (ssh reads `~/.ssh/config` and `/etc/ssh/ssh_config` itself). A named file must exist.
 */
export function sshConfigFile(opts: GlobalOptions): string | undefined {
  const given = opts.sshConfig ?? (process.env.CUTOVER_SSH_CONFIG || undefined);
  if (given === undefined) return undefined;
  const path = resolve(given);
  if (!existsSync(path))
    throw new UsageError(
      `ssh config ${path} (${opts.sshConfig ? '--ssh-config' : 'CUTOVER_SSH_CONFIG'}) does not exist`,
      'Name an existing ssh config file, or leave it out to use ~/.ssh/config as ssh does.',
    );
  return path;
}

/**
 * How a run connects (engine/connections.ts): `--connect-concurrency` / $CUTOVER_CONNECT_CONCURRENCY
 * (1-1000) and `--keep-open` / $CUTOVER_KEEP_OPEN (0-100000); unset values are the engine's defaults.
 * Example: `connectionLimits({ connectConcurrency: '5' })` -> `{ concurrency: 5 }`.
 */
export function connectionLimits(opts: GlobalOptions): { concurrency?: number; keepOpen?: number } {
  const read = (
    flag: string,
    env: string,
    given: string | undefined,
    min: number,
    max: number,
    what: string,
  ) => {
    const text = given ?? (process.env[env] || undefined);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n < min || n > max)
      throw new UsageError(
        `${given !== undefined ? flag : env} must be a whole number from ${min} to ${max} (${what}), not "${text}"`,
        `For example ${flag} 10. See \`cutover docs\`, "Connections".`,
      );
    return n;
  };
  const concurrency = read(
    '--connect-concurrency',
    'CUTOVER_CONNECT_CONCURRENCY',
    opts.connectConcurrency,
    1,
    1000,
    'connections set up at once',
  );
  const keepOpen = read(
    '--keep-open',
    'CUTOVER_KEEP_OPEN',
    opts.keepOpen,
    0,
    100_000,
    'hosts kept connected while not in flight',
  );
  return {
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(keepOpen !== undefined ? { keepOpen } : {}),
  };
}

/** Up to this many inventory hosts are resolved ahead (warmConnections); a larger one waits for the plan's own hosts. */
const WARM_HOSTS_MAX = 100;

/**
 * Starts `ssh -G` for the inventory's ssh hosts while the runbook is still being read and compiled,
 * so resolveHostConnections later finds them done (the processes run beside the compile instead
 * of after it). Fire and forget: a failure here is met again, and reported, by the resolution.
 */
export function warmConnections(hosts: readonly Host[], global: GlobalOptions): void {
  const ssh = hosts.filter((h) => h.transport !== 'local');
  if (ssh.length === 0 || ssh.length > WARM_HOSTS_MAX) return;
  const configFile = sshConfigFile(global);
  void prefetchDumps(
    'ssh',
    ssh.map((h) => resolveArgs(h, configFile)),
  ).catch(() => undefined);
}

/**
 * What ssh will use for each ssh host (`ssh -G`, see transport/ssh-config.ts). Errors (a bad ssh
 * config, two names for one machine, with `unresolvable: 'error'` a name that does not resolve)
 * throw an InputError (exit 2) naming the host; warnings are returned.
 */
export async function resolveHostConnections(
  hosts: readonly Host[],
  global: GlobalOptions,
  unresolvable: 'error' | 'warning',
): Promise<{ connections: Map<string, ResolvedConnection>; warnings: InputProblem[] }> {
  const configFile = sshConfigFile(global);
  const { connections, problems } = await resolveConnections(hosts, {
    ...(configFile ? { configFile } : {}),
    unresolvable,
  });
  if (problems.some((p) => p.severity === 'error'))
    throw new InputError(problems, 'Fix the ssh config or the inventory; nothing was changed on any host.');
  return { connections, warnings: problems };
}

/**
 * `-p key=value` pairs and `-p @file.yml` maps into one record, merged in the order given (a later
 * value wins, as with Ansible's `-e`); a malformed pair or file is a usage error.
 * Example: `parseParamFlags(['@params.yml', 'version=5.0.1'])`.
 */
export function parseParamFlags(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    if (pair.startsWith('@')) {
      Object.assign(out, paramsFile(pair.slice(1)));
      continue;
    }
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--param "${pair}": expected key=value or @file.yml`,
        'Example: -p version=5.0.24100.0, or -p @params.yml (a YAML map of params)',
      );
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A YAML (or JSON) map of params: `version: 5.0.1`. Values are scalars; lists and maps are refused. */
function paramsFile(file: string): Record<string, string> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `-p @${file}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'Name a YAML file of params, e.g. -p @params.yml',
    );
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new UsageError(
      `-p @${file}: ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
      'Write the params as a YAML map, e.g. `version: 5.0.24100.0`.',
    );
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(
      `-p @${file}: ${path} holds no map of params`,
      'Write the params as a YAML map, e.g. `version: 5.0.24100.0`.',
    );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object')
      throw new UsageError(
        `-p @${file}: param ${k} in ${path} is a ${Array.isArray(v) ? 'list' : 'map'}; params are single values`,
        'Give it as a string, number or boolean.',
      );
    out[k] = v === null ? '' : String(v);
  }
  return out;
}

export interface Loaded {
  runbook: Runbook;
  inventory: Inventory;
  warnings: InputProblem[];
}

/** Loads and validates the runbook and inventory together; every problem at once. `onInventory` hears of the inventory as soon as it is read. */
export async function loadAll(
  opts: InputOptions,
  onInventory?: (inventory: Inventory) => void,
): Promise<Loaded> {
  const inventories = [opts.inventory ?? []].flat();
  if (inventories.length === 0)
    throw new UsageError(
      'missing --inventory FILE',
      'Pass the inventory, e.g. -i examples/comindware/inventory.lab.yml',
    );
  const problems: InputProblem[] = [];
  let runbook: Runbook | undefined;
  let warnings: InputProblem[] = [];
  let inventory: Inventory | undefined;
  try {
    let inventoryWarnings: InputProblem[];
    ({ inventory, warnings: inventoryWarnings } = await loadInventories(inventories.map((i) => resolve(i))));
    problems.push(...inventoryWarnings);
    onInventory?.(inventory);
  } catch (e) {
    if (e instanceof InputError) problems.push(...e.problems);
    else throw e;
  }
  try {
    // With the inventory, unknown roles and hosts are reported together with every other problem.
    ({ runbook, warnings } = await loadRunbook(resolve(opts.runbook), inventory ? { inventory } : {}));
  } catch (e) {
    if (e instanceof InputError) problems.push(...e.problems);
    else throw e;
  }
  if (problems.some((p) => p.severity === 'error')) throw new InputError([...problems, ...warnings]);
  return {
    runbook: runbook as Runbook,
    inventory: inventory as Inventory,
    warnings: [...warnings, ...problems],
  };
}

export interface Prepared extends Loaded {
  plan: Plan;
  params: Record<string, string | number | boolean>;
  secrets: Record<string, Secret>;
  redactor: Redactor;
}

/** Validate, resolve params and secrets, compile. `secrets: 'placeholder'` compiles without asking for them (plan view). */
export async function prepare(
  opts: InputOptions,
  given?: Record<string, string>,
  secretMode: 'resolve' | 'placeholder' = 'resolve',
  global?: GlobalOptions,
): Promise<Prepared> {
  const loaded = await loadAll(
    opts,
    global && !opts.limit ? (inv) => warmConnections(inv.hosts, global) : undefined,
  );
  return prepareLoaded(loaded, given ?? parseParamFlags(opts.param), secretMode, {
    ...(opts.limit ? { limit: opts.limit } : {}),
    ...(opts.only ? { steps: { only: opts.only } } : {}),
    ...(opts.from !== undefined
      ? { steps: { ...(opts.only ? { only: opts.only } : {}), from: opts.from } }
      : {}),
  });
}

/**
 * Resolves params and secrets for a loaded runbook and compiles. `secrets` already resolved (a run
 * rebuilt from its journal, several runbook versions) are reused by name, never asked twice;
 * `knownFiles` are upload checksums taken as given (see CompileInput).
 */
export async function prepareLoaded(
  loaded: Loaded,
  given: Record<string, string>,
  secretMode: 'resolve' | 'placeholder' = 'resolve',
  extra: {
    secrets?: Record<string, Secret>;
    knownFiles?: Readonly<Record<string, string>>;
    limit?: string;
    steps?: StepSelection;
  } = {},
): Promise<Prepared> {
  const limit = extra.limit ? parseLimit(extra.limit) : undefined;
  const unmatched = limit ? unmatchedPatterns(limit, loaded.inventory.hosts) : [];
  if (unmatched.length)
    throw new UsageError(
      `--limit ${extra.limit}: ${unmatched.map((p) => `"${p}"`).join(', ')} names no host or role of the inventory`,
      `Hosts: ${loaded.inventory.hosts.map((h) => h.name).join(', ')}; roles: ${[...new Set(loaded.inventory.hosts.flatMap((h) => h.roles))].join(', ') || 'none'}. Globs (*, ?) and !exclusions work too.`,
    );
  const params = resolveParams(loaded.runbook, given);
  const redactor = new Redactor();
  const known = extra.secrets ?? {};
  const missing = Object.fromEntries(
    Object.entries(loaded.runbook.secrets).filter(([name]) => !(name in known)),
  );
  const asked = { ...loaded.runbook, secrets: missing };
  const resolved =
    secretMode === 'resolve'
      ? await resolveSecrets(asked, {
          env: process.env,
          readFile: (f: string) => readFileSync(f, 'utf8'),
          prompt: promptHidden,
        })
      : placeholderSecrets(asked);
  const secrets = Object.fromEntries(
    Object.keys(loaded.runbook.secrets).map((name) => [name, (known[name] ?? resolved[name]) as Secret]),
  );
  for (const s of Object.values(secrets)) redactor.add(s);
  const plan = compile({
    runbook: loaded.runbook,
    inventory: loaded.inventory,
    params,
    secrets,
    ...(extra.knownFiles ? { knownFiles: extra.knownFiles } : {}),
    ...(limit ? { limit } : {}),
    ...(extra.steps ? { steps: extra.steps } : {}),
  });
  return { ...loaded, plan, params, secrets, redactor };
}

function placeholderSecrets(runbook: Runbook): Record<string, Secret> {
  // The plan view never needs secret values: they render as <secret:name> either way.
  return Object.fromEntries(
    Object.keys(runbook.secrets).map((name) => [name, new Secret(name, `unresolved:${name}`)]),
  );
}

async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new UsageError(
      `${question}: no terminal to ask on`,
      'Provide the secret through its env or file source (see the runbook `secrets:`).',
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let asking = true;
  out._writeToOutput = (s: string) => {
    if (!asking) out.output.write(s);
  };
  process.stderr.write(`${question}: `);
  return new Promise((resolveAnswer) =>
    rl.question('', (answer) => {
      asking = false;
      rl.close();
      process.stderr.write('\n');
      resolveAnswer(answer);
    }),
  );
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Where `-vv` and `-vvv` write: stderr, one line at a time (stdout stays the run's view or JSON). */
function toStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * One transport per kind, shared by every host of a run; the transports' code is loaded on the
 * first connect (`plan` without `--probe` never loads it). `-vv` traces every command of every
 * session (tracedSession, redacted by `redactor`); `-vvv` adds OpenSSH's own `-v`.
 */
export function connector(
  global: GlobalOptions = {},
  become: { password?: string | undefined } = {},
  redactor?: Redactor,
): {
  connect: (host: Host, runAs?: string) => Promise<Session>;
  close: () => Promise<void>;
} {
  const transports = new Map<string, Transport>();
  const configFile = sshConfigFile(global);
  const level = global.verbose ?? 0;
  const redact = (text: string) => {
    const r = redactor ? redactor.redact(text) : text;
    return become.password ? r.split(become.password).join('<secret:become_password>') : r;
  };
  return {
    connect: async (host, runAs) => {
      let t = transports.get(host.transport);
      if (!t) {
        const { createTransport } = await import('../transport/index.js');
        t =
          transports.get(host.transport) ??
          createTransport(host, {
            ssh: { ...(configFile ? { configFile } : {}), ...(level >= 3 ? { debug: toStderr } : {}) },
          });
        transports.set(host.transport, t);
      }
      const session = await t.connect({
        name: host.name,
        address: host.address,
        ...(host.port !== undefined ? { port: host.port } : {}),
        ...(host.user !== undefined ? { user: host.user } : {}),
        sshOptions: host.sshOptions,
        ...(runAs !== undefined
          ? {
              become: {
                user: runAs,
                ...(become.password !== undefined ? { password: become.password } : {}),
              },
            }
          : {}),
      });
      return level >= 2 ? tracedSession(session, toStderr, redact) : session;
    },
    close: async () => {
      await Promise.all([...transports.values()].map((t) => t.close()));
    },
  };
}

export { templateScope };
