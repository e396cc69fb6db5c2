/**
 * Semantic checks on a loaded runbook, as a list of rule functions `(ctx) => InputProblem[]`:
 * step kinds and their params, ids and references, templates and conditions, preflight,
 * params, TODO markers. `checkAgainstInventory` adds the checks that need the inventory.
 */
import type { InputProblem } from '../errors.js';
import type { HostSelector, Inventory } from '../inventory/model.js';
import { linearRegExp } from '../shared/regex.js';
import type { Loc } from '../source/loc.js';
import { closestMatch, didYouMean, listNames } from '../source/suggest.js';
import { type Path, pathText, type YamlSource } from '../source/yaml.js';
import { isReadOnly, type StepKind } from '../steps/kind.js';
import { checkRef, type DeclaredNames } from './evaluator.js';
import { checkParamValue } from './inputs.js';
import type { PhaseDef, Runbook, StepDef } from './model.js';
import { STEP_FIELD_NAMES } from './schema.js';
import { ExprError, parseExpression, parseTemplate, refsOf, type Template } from './syntax.js';

/** One step as loaded, with where it came from. Example: `{ def, path: ['phases', 0, 'steps', 2], kindKeys: ['service.stop'], section: 0 }`. */
export interface StepEntry {
  def: StepDef;
  path: Path;
  raw: Record<string, unknown>;
  /** The keys that are not common step fields: exactly one kind is expected. */
  kindKeys: string[];
  section: 'preflight' | number;
  explicitId: boolean;
}

/** One phase as loaded. Example: `{ def, path: ['phases', 0], explicitId: true, hostsValid: true }`. */
export interface PhaseEntry {
  def: PhaseDef;
  path: Path;
  raw: Record<string, unknown>;
  explicitId: boolean;
  /** False when `hosts` was missing or invalid (already reported). */
  hostsValid: boolean;
}

/** What every rule sees: the model, the YAML source (for positions), the registered kinds. Example: `rules.flatMap((rule) => rule(ctx))`. */
export interface RuleContext {
  runbook: Runbook;
  source: YamlSource;
  kinds: ReadonlyMap<string, StepKind<unknown>>;
  steps: StepEntry[];
  phases: PhaseEntry[];
}

/** A semantic check. Example: `(ctx) => ctx.steps.filter(...).map((s) => ctx.source.problem(s.path, '...'))`. */
export type Rule = (ctx: RuleContext) => InputProblem[];

/** Exactly one kind key per step; unknown kinds get a "did you mean". Example: `sevice.stop` -> Did you mean "service.stop"? */
export const stepKindKeys: Rule = ({ steps, kinds, source }) => {
  const problems: InputProblem[] = [];
  const kindNames = [...kinds.keys()].sort();
  for (const step of steps) {
    const known = step.kindKeys.filter((k) => kinds.has(k));
    const unknown = step.kindKeys.filter((k) => !kinds.has(k));
    for (const key of unknown) {
      const field = closestMatch(key, STEP_FIELD_NAMES);
      if (!key.includes('.') && field) {
        problems.push(
          source.problem(
            [...step.path, key],
            `unknown key "${key}". Did you mean "${field}"?`,
            'error',
            'key',
          ),
        );
      } else {
        problems.push(
          source.problem(
            [...step.path, key],
            `unknown step kind "${key}".${didYouMean(key, kindNames)} Known kinds: ${listNames(kindNames)} (see \`cutover docs\`).`,
            'error',
            'key',
          ),
        );
      }
    }
    if (step.kindKeys.length === 0) {
      problems.push(
        source.problem(
          step.path,
          `a step needs exactly one step-kind key (e.g. "shell.run: { command: ... }"), found only ${listNames(Object.keys(step.raw))}. Known kinds: ${listNames(kindNames)}.`,
        ),
      );
    } else if (known.length > 1) {
      problems.push(
        source.problem(
          [...step.path, known[1] as string],
          `a step has exactly one step-kind key, found ${listNames(known)}; split it into one step per kind`,
          'error',
          'key',
        ),
      );
    }
  }
  return problems;
};

/** The params of each step, unrendered, against its kind's schema (values holding `{{ }}` are checked after rendering). Example: `unit: 42` -> expected a string. */
export const kindParams: Rule = ({ steps, kinds, source }) => {
  const problems: InputProblem[] = [];
  for (const step of steps) {
    const kind = kinds.get(step.def.kind);
    if (!kind || !step.kindKeys.includes(kind.name)) continue;
    const value = step.raw[kind.name];
    const path = [...step.path, kind.name];
    if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
      problems.push(
        source.problem(
          path,
          `expected the params of ${kind.name} as a map, e.g. "${kind.name}: { ... }"; see \`cutover docs\``,
        ),
      );
      continue;
    }
    const result = kind.params.safeParse(value ?? {});
    if (!result.success)
      problems.push(
        ...source.zodProblems(result.error.issues, path, value ?? {}, kind.params, { skipTemplates: true }),
      );
  }
  return problems;
};

/** Explicit phase ids are unique in the runbook; explicit step ids are unique in their phase (or preflight). Example: two `id: stop` -> duplicate step id. */
export const uniqueIds: Rule = ({ steps, phases, source }) => {
  const problems: InputProblem[] = [];
  const check = (entries: { id: string; path: Path }[], what: string) => {
    const first = new Map<string, Path>();
    for (const entry of entries) {
      const earlier = first.get(entry.id);
      if (earlier) {
        const at = source.loc(earlier);
        problems.push(
          source.problem(
            [...entry.path, 'id'],
            `duplicate ${what} id "${entry.id}" (first used at line ${at.line}); give each a different id`,
          ),
        );
      } else first.set(entry.id, [...entry.path, 'id']);
    }
  };
  check(
    phases.filter((p) => p.explicitId).map((p) => ({ id: p.def.id, path: p.path })),
    'phase',
  );
  for (const section of new Set(steps.map((s) => s.section))) {
    check(
      steps.filter((s) => s.section === section && s.explicitId).map((s) => ({ id: s.def.id, path: s.path })),
      'step',
    );
  }
  return problems;
};

/** `since:` (wait.log) names an earlier step of the same phase. Example: `since: stop-gatewy` -> Did you mean "stop-gateway"? */
export const sinceReferences: Rule = ({ steps, source }) => {
  const problems: InputProblem[] = [];
  for (const step of steps) {
    const since = step.def.params.since;
    if (typeof since !== 'string') continue;
    const section = steps.filter((s) => s.section === step.section);
    const earlier = section.slice(0, section.indexOf(step)).map((s) => s.def.id);
    if (earlier.includes(since)) continue;
    const later = section.some((s) => s.def.id === since);
    problems.push(
      source.problem(
        [...step.path, step.def.kind, 'since'],
        later
          ? `since: "${since}" comes after this step; it must name an earlier step (the one whose effect the log shows)`
          : `since: "${since}" is not a step id of this ${step.section === 'preflight' ? 'preflight' : 'phase'}.${didYouMean(since, earlier)} Earlier steps: ${listNames(earlier)}.`,
      ),
    );
  }
  return problems;
};

function declaredNames(runbook: Runbook): DeclaredNames {
  return {
    params: Object.keys(runbook.params),
    vars: Object.keys(runbook.vars),
    secrets: Object.keys(runbook.secrets),
  };
}

/** A string of the document that is a template, and whether `neighbour` may appear in it. */
interface TemplateSite {
  path: Path;
  text: string;
  neighbour: boolean;
}

function templateSites({ runbook, steps, phases }: RuleContext): TemplateSite[] {
  const sites: TemplateSite[] = [];
  for (const [name, text] of Object.entries(runbook.vars))
    sites.push({ path: ['vars', name], text, neighbour: false });
  for (const step of steps) {
    if (!step.def.kind || !step.kindKeys.includes(step.def.kind)) continue;
    visitStrings(step.raw[step.def.kind], [...step.path, step.def.kind], (path, text) =>
      sites.push({ path, text, neighbour: false }),
    );
  }
  for (const phase of phases) {
    const drain = phase.def.drain;
    if (!drain) continue;
    const at = (...keys: string[]) => [...phase.path, 'drain', ...keys];
    sites.push({ path: at('config'), text: drain.config, neighbour: false });
    sites.push({ path: at('upstream'), text: drain.upstream, neighbour: true });
    if (drain.health) sites.push({ path: at('health', 'url'), text: drain.health.url, neighbour: true });
    if (drain.validate !== undefined)
      sites.push({ path: at('validate'), text: drain.validate, neighbour: false });
    if (drain.reload !== undefined) sites.push({ path: at('reload'), text: drain.reload, neighbour: false });
  }
  for (const phase of phases) {
    const balancer = phase.def.balancer;
    if (!balancer) continue;
    const raw = phase.raw.balancer;
    visitStrings(
      raw && typeof raw === 'object'
        ? {
            haproxy: (raw as Record<string, unknown>).haproxy,
            nginx: (raw as Record<string, unknown>).nginx,
            commands: (raw as Record<string, unknown>).commands,
            health: (raw as Record<string, unknown>).health,
          }
        : {},
      [...phase.path, 'balancer'],
      (path, text) => sites.push({ path, text, neighbour: false }),
    );
  }
  return sites;
}

function visitStrings(value: unknown, path: Path, visit: (path: Path, text: string) => void): void {
  if (typeof value === 'string') visit(path, value);
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) visitStrings(item, [...path, i], visit);
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) visitStrings(v, [...path, k], visit);
}

/** The text from the `{{` before `offset` up to it, to find the spot in the raw YAML when quoting shifted it. */
function needleAt(text: string, offset: number): { text: string; start: number } {
  const open = Math.max(0, text.lastIndexOf('{{', offset));
  return { text: text.slice(open, Math.min(text.length, Math.max(offset + 1, open + 2))), start: open };
}

/** Template syntax, roots, and declared params/vars/secrets, at the exact column inside the string. Example: `{{ parms.x }}` -> unknown name "parms". */
export const templates: Rule = (ctx) => {
  const problems: InputProblem[] = [];
  const names = declaredNames(ctx.runbook);
  for (const site of templateSites(ctx)) {
    let template: Template;
    try {
      template = parseTemplate(site.text);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      problems.push(problemIn(ctx.source, site.path, e, needleAt(site.text, e.offset), 'template error'));
      continue;
    }
    for (const segment of template.segments) {
      if (segment.type !== 'expr') continue;
      for (const ref of refsOf(segment.node)) {
        const error = checkRef(ref, names, { template: true, neighbour: site.neighbour });
        if (error)
          problems.push(
            problemIn(
              ctx.source,
              site.path,
              error,
              { text: site.text.slice(segment.start, segment.end), start: segment.start },
              'in template',
            ),
          );
      }
    }
  }
  return problems;
};

function problemIn(
  source: YamlSource,
  path: Path,
  error: ExprError,
  needle: { text: string; start: number },
  prefix: string,
): InputProblem {
  return {
    ...source.locInString(path, error.offset, needle),
    path: pathText(path),
    message: `${prefix}: ${error.message}`,
    severity: 'error',
  };
}

interface ConditionSite {
  path: Path;
  text: string;
}

function conditionSites({ steps, phases }: RuleContext): ConditionSite[] {
  const sites: ConditionSite[] = [];
  for (const step of steps)
    if (step.def.when !== undefined) sites.push({ path: [...step.path, 'when'], text: step.def.when });
  for (const phase of phases) {
    const { hosts, rolling, drain } = phase.def;
    if (hosts.where !== undefined) sites.push({ path: [...phase.path, 'hosts', 'where'], text: hosts.where });
    if (rolling.groupBy !== undefined)
      sites.push({ path: [...phase.path, 'rolling', 'group_by'], text: rolling.groupBy });
    if (drain?.skipWhen !== undefined)
      sites.push({ path: [...phase.path, 'drain', 'skip_when'], text: drain.skipWhen });
    if (phase.def.balancer?.skipWhen !== undefined)
      sites.push({ path: [...phase.path, 'balancer', 'skip_when'], text: phase.def.balancer.skipWhen });
    const raw = phase.raw.drain as { neighbours?: { where?: unknown } } | undefined;
    if (drain?.neighbours.where !== undefined && raw?.neighbours?.where !== undefined) {
      sites.push({ path: [...phase.path, 'drain', 'neighbours', 'where'], text: drain.neighbours.where });
    }
  }
  return sites;
}

/** `when`, `where`, `skip_when`, `group_by` parse, and name only what conditions may read. Example: `a && b` -> use `and`. */
export const conditions: Rule = (ctx) => {
  const problems: InputProblem[] = [];
  const names = declaredNames(ctx.runbook);
  for (const site of conditionSites(ctx)) {
    const needle = { text: site.text, start: 0 };
    try {
      const node = parseExpression(site.text);
      for (const ref of refsOf(node)) {
        const error = checkRef(ref, names, { template: false, neighbour: false });
        if (error) problems.push(problemIn(ctx.source, site.path, error, needle, 'in condition'));
      }
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      problems.push(problemIn(ctx.source, site.path, e, needle, 'condition does not parse'));
    }
  }
  return problems;
};

/** Vars may use other vars, but never in a cycle. Example: a: '{{ vars.b }}', b: '{{ vars.a }}' -> vars.a refers to itself. */
export const varCycles: Rule = ({ runbook, source }) => {
  const edges = new Map<string, string[]>();
  for (const [name, text] of Object.entries(runbook.vars)) {
    try {
      const template = parseTemplate(text);
      const used = template.segments.flatMap((s) => (s.type === 'expr' ? refsOf(s.node) : []));
      edges.set(
        name,
        used
          .filter((r) => r.path[0] === 'vars' && r.path[1] !== undefined && r.path[1] in runbook.vars)
          .map((r) => r.path[1] as string),
      );
    } catch {
      edges.set(name, []); // syntax errors are the templates rule's
    }
  }
  const problems: InputProblem[] = [];
  const reported = new Set<string>();
  const visit = (name: string, stack: string[]) => {
    if (stack.includes(name)) {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      const key = [...cycle].slice(0, -1).sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        problems.push(
          source.problem(
            ['vars', name],
            `vars.${name} refers to itself: ${cycle.map((v) => `vars.${v}`).join(' -> ')}; break the cycle`,
          ),
        );
      }
      return;
    }
    for (const next of edges.get(name) ?? []) visit(next, [...stack, name]);
  };
  for (const name of edges.keys()) visit(name, []);
  return problems;
};

/** Whether a step only reads, by its kind or (readOnlyFor) its params; undefined when the params are too broken to tell. */
function stepReadsOnly(kind: StepKind<unknown>, params: unknown): boolean | undefined {
  if (kind.readOnly) return true;
  if (!kind.readOnlyFor) return false;
  const parsed = kind.params.safeParse(params ?? {});
  return parsed.success ? isReadOnly(kind, parsed.data) : undefined;
}

/** Preflight runs before anything may change: only steps that read (read-only kinds, or kinds read-only with these params). Example: service.stop in preflight -> error. */
export const preflightReadOnly: Rule = ({ steps, kinds, source }) => {
  const readOnly = [...kinds.values()]
    .filter((k) => k.readOnly || k.readOnlyFor)
    .map((k) => (k.readOnly ? k.name : `${k.name} (with some params)`))
    .sort();
  const problems: InputProblem[] = [];
  for (const step of steps) {
    const kind = kinds.get(step.def.kind);
    if (step.section !== 'preflight' || !kind || stepReadsOnly(kind, step.raw[kind.name]) !== false) continue;
    problems.push(
      source.problem(
        [...step.path, kind.name],
        `preflight steps must only read, and this "${kind.name}" step changes hosts; move it into a phase, or use a read-only kind: ${listNames(readOnly)}`,
        'error',
        'key',
      ),
    );
  }
  return problems;
};

/** Param patterns compile, defaults fit their type and pattern. Example: `{ type: version, default: latest }` -> the default does not fit. */
export const paramSpecs: Rule = ({ runbook, source }) => {
  const problems: InputProblem[] = [];
  for (const [name, spec] of Object.entries(runbook.params)) {
    if (spec.pattern !== undefined) {
      try {
        linearRegExp(spec.pattern);
      } catch (e) {
        problems.push(
          source.problem(
            ['params', name, 'pattern'],
            `not a valid regular expression: ${(e as Error).message}`,
          ),
        );
        continue;
      }
    }
    if (spec.default !== undefined) {
      const error = checkParamValue(name, spec, String(spec.default));
      if (typeof error === 'object')
        problems.push(
          source.problem(['params', name, 'default'], `the default does not fit: ${error.error}`),
        );
      if (spec.required) {
        problems.push(
          source.problem(
            ['params', name, 'required'],
            'required has no effect when there is a default; remove one of them',
            'warning',
            'key',
          ),
        );
      }
    }
  }
  return problems;
};

/** TODO markers left by `cutover import`: a `todo:` field or a `# TODO` comment; warnings, not errors. Example: `todo: check the flag` -> warning. */
export const todos: Rule = ({ steps, source }) => {
  const problems: InputProblem[] = steps
    .filter((s) => s.def.todo !== undefined)
    .map((s) =>
      source.problem(
        [...s.path, 'todo'],
        `TODO: ${s.def.todo} — check this step, then delete the todo field`,
        'warning',
        'key',
      ),
    );
  for (const comment of source.todoComments()) {
    problems.push({
      ...comment.loc,
      path: '',
      message: `${comment.text} — resolve it, then delete the comment`,
      severity: 'warning',
    });
  }
  return problems;
};

/** `serial` (batches) and `window` (a pool) are two ways to roll: a phase picks one. Example: `rolling: { serial: 2, window: 2 }` -> an error at window. */
export const rollingMode: Rule = ({ phases, source }) => {
  const problems: InputProblem[] = [];
  for (const phase of phases) {
    const rolling = phase.raw.rolling;
    if (!rolling || typeof rolling !== 'object' || !('serial' in rolling) || !('window' in rolling)) continue;
    problems.push(
      source.problem(
        [...phase.path, 'rolling', 'window'],
        'is given with serial: roll in batches (serial: N, each batch waits for its slowest host) or keep N hosts in flight (window: N), not both; remove one',
        'error',
        'key',
      ),
    );
  }
  return problems;
};

/** Every rule, in the order their problems are usually read. Example: `rules.flatMap((rule) => rule(ctx))`. */
/** A phase takes its traffic out one way: its own nginx (`drain`) or the balancers in front (`balancer`, with exactly one provider). */
export const trafficProviders: Rule = ({ phases, source }) => {
  const problems: InputProblem[] = [];
  for (const phase of phases) {
    const b = phase.def.balancer;
    if (!b) continue;
    if (phase.def.drain)
      problems.push(
        source.problem(
          [...phase.path, 'balancer'],
          'a phase has either `drain` (its own nginx) or `balancer` (load balancers in front), not both: keep the one your traffic goes through',
        ),
      );
    if ((b.haproxy ? 1 : 0) + (b.nginx ? 1 : 0) + (b.commands ? 1 : 0) !== 1)
      problems.push(
        source.problem(
          [...phase.path, 'balancer'],
          'expected exactly one balancer provider: `haproxy:` (HAProxy runtime API), `nginx:` (an upstream on an nginx balancer) or `commands:` (drain/drained/undrain commands)',
        ),
      );
  }
  return problems;
};

export const rules: readonly Rule[] = [
  stepKindKeys,
  kindParams,
  uniqueIds,
  sinceReferences,
  templates,
  conditions,
  varCycles,
  preflightReadOnly,
  paramSpecs,
  rollingMode,
  todos,
  trafficProviders,
];

/**
 * The checks that need the inventory: every role and host named by a phase or a drain exists,
 * and `host.vars.x` names a var that some host has (a warning). Positioned via runbook.sourceLocs.
 * Example: `checkAgainstInventory(runbook, inventory)` -> [`rb.yml:9:22: phases/0/hosts/roles/1: unknown role "wbe" ...`].
 */
export function checkAgainstInventory(runbook: Runbook, inventory: Inventory): InputProblem[] {
  const problems: InputProblem[] = [];
  const roles = [...new Set(inventory.hosts.flatMap((h) => h.roles))];
  const hostNames = inventory.hosts.map((h) => h.name);
  const where = `inventory ${inventory.file}`;
  const locOf = (fallback: Loc, ...paths: string[]): { loc: Loc; path: string } => {
    for (const path of paths) {
      const loc = runbook.sourceLocs?.[path];
      if (loc) return { loc, path };
    }
    return { loc: fallback, path: paths[0] ?? '' };
  };
  const checkSelector = (selector: HostSelector, base: string, fallback: Loc) => {
    selector.roles?.forEach((role, j) => {
      if (roles.includes(role)) return;
      const { loc, path } = locOf(fallback, `${base}/roles/${j}`);
      problems.push({
        ...loc,
        path,
        message: `unknown role "${role}": no host of ${where} has it.${didYouMean(role, roles)} Roles there: ${listNames(roles)}.`,
        severity: 'error',
      });
    });
    selector.hosts?.forEach((host, j) => {
      if (hostNames.includes(host)) return;
      const { loc, path } = locOf(fallback, `${base}/hosts/${j}`, `${base}/${j}`);
      problems.push({
        ...loc,
        path,
        message: `unknown host "${host}": ${where} has no such host.${didYouMean(host, hostNames)} Hosts there: ${listNames(hostNames)}.`,
        severity: 'error',
      });
    });
  };
  runbook.phases.forEach((phase, i) => {
    checkSelector(phase.hosts, `phases/${i}/hosts`, phase.loc);
    if (phase.drain) checkSelector(phase.drain.neighbours, `phases/${i}/drain/neighbours`, phase.loc);
  });

  const hostVars = new Set(inventory.hosts.flatMap((h) => Object.keys(h.vars)));
  const seen = new Set<string>();
  const checkVars = (text: string, template: boolean, loc: Loc, path: string) => {
    let refs: ReturnType<typeof refsOf>;
    try {
      refs = template
        ? parseTemplate(text).segments.flatMap((s) => (s.type === 'expr' ? refsOf(s.node) : []))
        : refsOf(parseExpression(text));
    } catch {
      return; // the loader reports syntax errors
    }
    for (const ref of refs) {
      const [root, field, name] = ref.path;
      if (
        (root !== 'host' && root !== 'neighbour') ||
        field !== 'vars' ||
        name === undefined ||
        hostVars.has(name)
      )
        continue;
      if (seen.has(`${path}:${name}`)) continue;
      seen.add(`${path}:${name}`);
      problems.push({
        ...loc,
        path,
        message: `${root}.vars.${name}: no host of ${where} has a var "${name}".${didYouMean(name, hostVars)} Add it to the inventory.`,
        severity: 'warning',
      });
    }
  };
  for (const [name, text] of Object.entries(runbook.vars)) {
    checkVars(
      text,
      true,
      runbook.sourceLocs?.[`vars/${name}`] ?? { file: runbook.file, line: 1, col: 1 },
      `vars/${name}`,
    );
  }
  const visitStep = (step: StepDef, section: string) => {
    const path = `${section}/${step.id}`;
    if (step.when !== undefined) checkVars(step.when, false, step.loc, path);
    visitStrings(step.params, [], (_p, text) => checkVars(text, true, step.loc, path));
  };
  for (const step of runbook.preflight) visitStep(step, 'preflight');
  for (const phase of runbook.phases) {
    for (const step of phase.steps) visitStep(step, phase.id);
    if (phase.hosts.where) checkVars(phase.hosts.where, false, phase.loc, phase.id);
    if (phase.rolling.groupBy) checkVars(phase.rolling.groupBy, false, phase.loc, phase.id);
    const drain = phase.drain;
    if (drain) {
      for (const text of [drain.config, drain.upstream, drain.health?.url, drain.validate, drain.reload]) {
        if (text !== undefined) checkVars(text, true, phase.loc, `${phase.id}/drain`);
      }
      if (drain.skipWhen) checkVars(drain.skipWhen, false, phase.loc, `${phase.id}/drain`);
    }
    const balancer = phase.balancer;
    if (balancer) {
      visitStrings(
        {
          haproxy: balancer.haproxy,
          nginx: balancer.nginx,
          commands: balancer.commands,
          health: balancer.health?.url,
        },
        [],
        (_p, text) => checkVars(text, true, phase.loc, `${phase.id}/balancer`),
      );
      if (balancer.skipWhen) checkVars(balancer.skipWhen, false, phase.loc, `${phase.id}/balancer`);
    }
  }
  return problems;
}
