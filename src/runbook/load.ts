/**
 * Loads a runbook file: YAML with positions -> field-by-field zod checks -> the model ->
 * semantic rules (rules.ts). Every problem is collected with its file:line:col and path, then
 * thrown at once as an InputError; warnings (TODOs) are returned.
 */
import { resolve } from 'node:path';
import type { z } from 'zod';
import { type InputProblem, InputError } from '../errors.js';
import type { HostSelector, Inventory } from '../inventory/model.js';
import { LIMITS } from '../source/limits.js';
import { readInputFile } from '../source/read.js';
import { didYouMean, listNames } from '../source/suggest.js';
import { type Path, pathText, YamlSource } from '../source/yaml.js';
import { stepKinds } from '../steps/index.js';
import type { StepKind } from '../steps/kind.js';
import type {
  BalancerSpec,
  DrainSpec,
  ParamSpec,
  PhaseDef,
  RollingPolicy,
  Runbook,
  StepDef,
  Privilege,
} from './model.js';
import { checkAgainstInventory, type PhaseEntry, type RuleContext, rules, type StepEntry } from './rules.js';
import {
  type balancerSchema,
  type drainSchema,
  type hostSelectorSchema,
  type paramSpecSchema,
  phaseFields,
  type rollingSchema,
  runbookFields,
  STEP_FIELD_NAMES,
  stepFields,
  type StepKindRegistry,
} from './schema.js';

/** What a load returns: the runbook and its warnings (errors are thrown). Example: `{ runbook, warnings: [todoWarning] }`. */
export interface LoadResult {
  runbook: Runbook;
  warnings: InputProblem[];
}

/** Options for loading. Example: `{ inventory }` adds the inventory checks (unknown roles/hosts) to the same report. */
export interface LoadOptions {
  /** The step kinds to check against; default: the registry in src/steps/index.ts. */
  kinds?: StepKindRegistry;
  /** When given, unknown roles and hosts are reported together with the other problems. */
  inventory?: Inventory;
}

/**
 * Reads, checks and loads a runbook. Throws InputError listing every error as
 * `file:line:col: path: message`. Example: `const { runbook, warnings } = await loadRunbook('examples/cmw/runbook.yml')`.
 */
export async function loadRunbook(file: string, options: LoadOptions = {}): Promise<LoadResult> {
  const text = await readInputFile(file, 'runbook');
  const { runbook, problems } = parseRunbook(text, file, options);
  if (!runbook || problems.some((p) => p.severity === 'error')) throw new InputError(problems);
  return { runbook, warnings: problems };
}

/**
 * Checks runbook text without throwing: every problem (errors and warnings) in file order, and
 * the runbook when the document was a map at all. `file` is shown in problems as given.
 * Example: `parseRunbook(text, 'rb.yml').problems.map(formatProblem)`.
 */
export function parseRunbook(
  text: string,
  file: string,
  options: LoadOptions = {},
): { runbook?: Runbook; problems: InputProblem[] } {
  const kinds = (options.kinds ?? stepKinds) as ReadonlyMap<string, StepKind<unknown>>;
  const source = new YamlSource(file, text);
  const problems: InputProblem[] = [...source.parseProblems];
  const raw = source.value();
  if (!isMap(raw)) {
    problems.push(
      source.problem(
        [],
        `expected a runbook: a map with name, params, phases (found ${raw === null || raw === undefined ? 'an empty document' : 'something else'})`,
      ),
    );
    return { problems: sortProblems(problems) };
  }

  const top = parseFields(runbookFields, raw, [], source, problems, ['preflight', 'phases']);
  const steps: StepEntry[] = [];
  const preflight = listAt(raw, ['preflight'], source, problems, false).flatMap((item, i) => {
    const entry = buildStep(item, ['preflight', i], 'preflight', kinds, source, problems);
    if (entry) steps.push(entry);
    return entry ? [entry.def] : [];
  });
  assignStepIds(steps.filter((s) => s.section === 'preflight'));

  const phases: PhaseEntry[] = [];
  listAt(raw, ['phases'], source, problems, true).forEach((item, i) => {
    const path = ['phases', i];
    if (!isMap(item)) {
      problems.push(source.problem(path, 'expected a phase: a map with name, hosts and steps'));
      return;
    }
    const fields = parseFields(phaseFields, item, path, source, problems, ['steps']);
    const phaseSteps: StepEntry[] = [];
    listAt(item, ['steps'], source, problems, true, path).forEach((stepItem, j) => {
      const entry = buildStep(stepItem, [...path, 'steps', j], i, kinds, source, problems);
      if (entry) phaseSteps.push(entry);
    });
    assignStepIds(phaseSteps);
    steps.push(...phaseSteps);
    const hosts = selectorOf(fields.hosts);
    const def: PhaseDef = {
      id: fields.id ?? '',
      name: fields.name ?? '',
      hosts,
      rolling: rollingOf(fields.rolling),
      ...(fields.drain ? { drain: drainOf(fields.drain, hosts) } : {}),
      ...(fields.balancer ? { balancer: balancerOf(fields.balancer) } : {}),
      steps: phaseSteps.map((s) => s.def),
      loc: source.loc(path),
      ...privilegeOf(fields),
    };
    phases.push({
      def,
      path,
      raw: item,
      explicitId: fields.id !== undefined,
      hostsValid: fields.hosts !== undefined,
    });
  });
  assignPhaseIds(phases);
  if (phases.length > LIMITS.phases)
    problems.push(
      source.problem(['phases', LIMITS.phases], `more than ${LIMITS.phases} phases; split the runbook`),
    );
  if (steps.length > LIMITS.steps)
    problems.push(
      source.problem(
        [],
        `${steps.length} steps; a runbook holds at most ${LIMITS.steps} (preflight included)`,
      ),
    );

  const runbook: Runbook = {
    file: resolve(file),
    name: top.name ?? '',
    ...(top.description !== undefined ? { description: top.description } : {}),
    params: Object.fromEntries(Object.entries(top.params ?? {}).map(([k, v]) => [k, paramOf(v)])),
    secrets: top.secrets ?? {},
    vars: top.vars ?? {},
    safePrograms: top.safe_programs ?? [],
    preflight,
    phases: phases.map((p) => p.def),
    sourceLocs: source.allLocs(),
  };

  const ctx: RuleContext = { runbook, source, kinds, steps, phases };
  for (const rule of rules) problems.push(...rule(ctx));
  if (options.inventory) problems.push(...checkAgainstInventory(runbook, options.inventory));
  return { runbook, problems: sortProblems(withoutEchoesOfSyntaxErrors(problems, source)) };
}

/** A line the YAML parser could not read yields garbage values: keep its syntax error, drop other complaints about that line. */
function withoutEchoesOfSyntaxErrors(problems: InputProblem[], source: YamlSource): InputProblem[] {
  const broken = new Set(source.parseProblems.filter((p) => p.severity === 'error').map((p) => p.line));
  return problems.filter((p) => source.parseProblems.includes(p) || !broken.has(p.line));
}

function sortProblems(problems: InputProblem[]): InputProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks each field of a map with its own schema, so one bad field never hides the others.
 * Unknown keys are reported (with "did you mean") unless `allowKey` accepts them.
 */
function parseFields<S extends Record<string, z.ZodType>>(
  shape: S,
  raw: Record<string, unknown>,
  path: Path,
  source: YamlSource,
  problems: InputProblem[],
  alsoAllowed: readonly string[] = [],
  allowKey: (key: string) => boolean = () => false,
): { [K in keyof S]?: z.output<S[K]> } {
  const out: Record<string, unknown> = {};
  const known = [...Object.keys(shape), ...alsoAllowed];
  for (const key of Object.keys(raw)) {
    if (known.includes(key) || allowKey(key)) continue;
    problems.push(
      source.problem(
        [...path, key],
        `unknown key "${key}".${didYouMean(key, known)} Allowed here: ${listNames(known)}.`,
        'error',
        'key',
      ),
    );
  }
  for (const [key, schema] of Object.entries(shape)) {
    const result = schema.safeParse(raw[key]);
    if (result.success) {
      if (result.data !== undefined) out[key] = result.data;
    } else {
      problems.push(...source.zodProblems(result.error.issues, [...path, key], raw[key], schema));
    }
  }
  return out as { [K in keyof S]?: z.output<S[K]> };
}

function listAt(
  raw: Record<string, unknown>,
  key: [string],
  source: YamlSource,
  problems: InputProblem[],
  required: boolean,
  base: Path = [],
): unknown[] {
  const value = raw[key[0]];
  const path = [...base, key[0]];
  if (value === undefined || value === null) {
    if (required) {
      problems.push({
        ...source.loc(base),
        path: pathText(path),
        message: `missing required key "${key[0]}" (expected a list with at least one item)`,
        severity: 'error',
      });
    }
    return [];
  }
  if (!Array.isArray(value)) {
    problems.push(
      source.problem(
        path,
        `expected a list (items starting with "- "), got ${typeof value === 'object' ? 'a map' : JSON.stringify(value)}`,
      ),
    );
    return [];
  }
  if (required && value.length === 0) problems.push(source.problem(path, 'expected at least one item'));
  return value;
}

function buildStep(
  item: unknown,
  path: Path,
  section: 'preflight' | number,
  kinds: ReadonlyMap<string, StepKind<unknown>>,
  source: YamlSource,
  problems: InputProblem[],
): StepEntry | undefined {
  if (!isMap(item)) {
    problems.push(
      source.problem(
        path,
        'expected a step: a map with one step-kind key, e.g. `- service.stop: { unit: nginx }`',
      ),
    );
    return undefined;
  }
  const fields = parseFields(
    stepFields,
    item,
    path,
    source,
    problems,
    [],
    (key) => !STEP_FIELD_NAMES.includes(key),
  );
  const kindKeys = Object.keys(item).filter((key) => !STEP_FIELD_NAMES.includes(key));
  const kind = kindKeys.find((key) => kinds.has(key)) ?? kindKeys[0] ?? '';
  const params = item[kind];
  const def: StepDef = {
    id: fields.id ?? '',
    ...(fields.name !== undefined ? { name: fields.name } : {}),
    kind,
    params: isMap(params) ? params : {},
    ...(fields.when !== undefined ? { when: fields.when } : {}),
    ...(fields.timeout !== undefined ? { timeoutMs: fields.timeout } : {}),
    retries: fields.retries ?? 0,
    retryDelayMs: fields.retry_delay ?? 5000,
    loc: source.loc(path),
    ...(fields.source !== undefined ? { source: fields.source } : {}),
    ...(fields.todo !== undefined ? { todo: fields.todo } : {}),
    ...privilegeOf(fields),
  };
  return { def, path, raw: item, kindKeys, section, explicitId: fields.id !== undefined };
}

/** `become`/`become_user` as written at one level, or nothing. Example: privilegeOf({ become_user: 'postgres' }) -> { privilege: { user: 'postgres' } }. */
function privilegeOf(fields: { become?: boolean | undefined; become_user?: string | undefined }): {
  privilege?: Privilege;
} {
  if (fields.become === undefined && fields.become_user === undefined) return {};
  return {
    privilege: {
      ...(fields.become !== undefined ? { become: fields.become } : {}),
      ...(fields.become_user !== undefined ? { user: fields.become_user } : {}),
    },
  };
}

/** Lowercase words joined by dashes; '' when nothing ASCII is left. Example: slug('Stop the API gateway') -> 'stop-the-api-gateway'. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
}

/** Explicit ids stay (duplicates are a rule's error); others become slug(name) or the kind, made unique with -2, -3. */
function assignStepIds(steps: StepEntry[]): void {
  const taken = new Set(steps.filter((s) => s.explicitId).map((s) => s.def.id));
  for (const step of steps) {
    if (step.explicitId) continue;
    step.def.id = unique(slug(step.def.name ?? '') || step.def.kind || 'step', taken);
  }
}

function assignPhaseIds(phases: PhaseEntry[]): void {
  const taken = new Set(phases.filter((p) => p.explicitId).map((p) => p.def.id));
  phases.forEach((phase, i) => {
    if (!phase.explicitId) phase.def.id = unique(slug(phase.def.name) || `phase-${i + 1}`, taken);
    if (!phase.def.name) phase.def.name = phase.def.id;
  });
}

function unique(base: string, taken: Set<string>): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

function selectorOf(input: z.output<typeof hostSelectorSchema> | undefined): HostSelector {
  if (input === undefined || input === 'all') return {};
  if (Array.isArray(input)) return { hosts: input };
  return { ...input };
}

function rollingOf(input: z.output<typeof rollingSchema> | undefined): RollingPolicy {
  // A window is as many hosts at once as serial would be, without the batches' barriers.
  const serial = input?.window ?? input?.serial ?? 1;
  const canary = input?.canary;
  return {
    serial,
    ...(input?.window !== undefined ? { window: input.window } : {}),
    // With groups, serial is per group; only an explicit max_unavailable caps the phase as a whole.
    ...(input?.max_unavailable !== undefined || input?.group_by === undefined
      ? { maxUnavailable: input?.max_unavailable ?? serial }
      : {}),
    failureBudget: input?.failure_budget ?? 0,
    ...(canary
      ? {
          canary: {
            hosts: canary.hosts,
            ...(canary.pause !== undefined ? { pauseMs: canary.pause } : {}),
            confirm: canary.confirm,
          },
        }
      : {}),
    ...(input?.group_by !== undefined ? { groupBy: input.group_by } : {}),
  };
}

function drainOf(input: z.output<typeof drainSchema>, phaseHosts: HostSelector): DrainSpec {
  return {
    config: input.config,
    locations: input.locations,
    upstream: input.upstream,
    neighbours: input.neighbours === undefined ? phaseHosts : selectorOf(input.neighbours),
    ...(input.health ? { health: { url: input.health.url, expectStatus: input.health.status } } : {}),
    maxDrained: input.max_drained,
    ...(input.skip_when !== undefined ? { skipWhen: input.skip_when } : {}),
    ...(input.validate !== undefined ? { validate: input.validate } : {}),
    ...(input.reload !== undefined ? { reload: input.reload } : {}),
  };
}

function balancerOf(input: z.output<typeof balancerSchema>): BalancerSpec {
  return {
    hosts: selectorOf(input.hosts),
    ...(input.haproxy ? { haproxy: input.haproxy } : {}),
    ...(input.nginx
      ? {
          nginx: {
            config: input.nginx.config,
            upstream: input.nginx.upstream,
            server: input.nginx.server,
            ...(input.nginx.validate !== undefined ? { validate: input.nginx.validate } : {}),
            ...(input.nginx.reload !== undefined ? { reload: input.nginx.reload } : {}),
          },
        }
      : {}),
    ...(input.commands ? { commands: input.commands } : {}),
    ...(input.health ? { health: { url: input.health.url, expectStatus: input.health.status } } : {}),
    maxDrained: input.max_drained,
    drainTimeoutMs: input.drain_timeout,
    ...(input.skip_when !== undefined ? { skipWhen: input.skip_when } : {}),
  };
}

function paramOf(input: z.output<typeof paramSpecSchema>): ParamSpec {
  return {
    type: input.type,
    required: input.required,
    ...(input.default !== undefined ? { default: input.default } : {}),
    ...(input.pattern !== undefined ? { pattern: input.pattern } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
  };
}
