/**
 * The meaning of expressions and templates: what each root (`params`, `vars`, `secrets`,
 * `host`, `neighbour`, `run`) names, how values compare, how a template becomes a Word.
 * Shared by `evaluate` (expr.ts), `renderTemplate` (template.ts) and the loader's static checks.
 */
import { quote } from '../shell/quote.js';
import { Secret } from '../shell/secret.js';
import { didYouMean, listNames } from '../source/suggest.js';
import {
  Expanded,
  type HostDate,
  isHostDate,
  type Part,
  partsOf,
  TemplatedWord,
  type Word,
} from '../shell/word.js';
import {
  ExprError,
  type ExprNode,
  parseExpression,
  parseTemplate,
  type RefNode,
  type Template,
} from './syntax.js';
import { compareVersions, looksLikeVersion } from './version.js';

/** A host as expressions see it. Example: `{ name: 'web', address: '10.0.0.10', port: 22, user: 'root', roles: ['web'], vars: {} }`. */
export interface ScopeHost {
  name: string;
  address: string;
  port?: number;
  user?: string;
  roles: readonly string[];
  vars: Readonly<Record<string, unknown>>;
}

/**
 * What templates and conditions can read. `vars` are the runbook's unrendered var templates
 * (rendered on use, so they may use params, host and other vars). `neighbour` is set only while
 * rendering a drain's upstream/health; `run` only once a run has an id.
 * Example: `{ params: { instance: 'cmw' }, vars: {}, secrets: {}, host }`.
 */
export interface TemplateScope {
  params: Readonly<Record<string, string | number | boolean>>;
  vars: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, Secret>>;
  host?: ScopeHost;
  neighbour?: ScopeHost;
  run?: { id: string };
}

/** A value an expression can produce; secrets, host dates and rendered vars only come from references. Example: `'5.0.23654.0'`, `['web']`, `new Secret(...)`. */
export type Value =
  | string
  | number
  | boolean
  | null
  | readonly Value[]
  | { readonly [key: string]: Value }
  | Secret
  | HostDate
  | TemplatedWord
  | Expanded;

/** The roots every expression may start with. Example: `params` in `params.version`. */
export const ROOTS = ['params', 'vars', 'secrets', 'host', 'neighbour', 'run'] as const;
/** The fields of `host` and `neighbour`. Example: `address` in `host.address`. */
const HOST_FIELDS = ['name', 'address', 'port', 'user', 'roles', 'vars'] as const;

/** Where a reference appears, for the static check: templates may read secrets and host dates, conditions may not. Example: `{ template: true, neighbour: false }`. */
export interface RefContext {
  /** true inside `{{ }}`, false in a condition. */
  template: boolean;
  /** true only for a drain's upstream and health.url. */
  neighbour: boolean;
}

/** The names the runbook declares, for the static check. Example: `{ params: ['version'], vars: ['log_dir'], secrets: [] }`. */
export interface DeclaredNames {
  params: readonly string[];
  vars: readonly string[];
  secrets: readonly string[];
}

/**
 * Checks a reference without any values: right root, right shape, declared name, allowed here.
 * Returns the problem (positioned at the reference) or undefined. Example: `params.nme` -> unknown param "nme".
 */
export function checkRef(ref: RefNode, names: DeclaredNames, where: RefContext): ExprError | undefined {
  try {
    shapeOf(ref, where);
    const [root, name] = ref.path;
    if (root === 'params' || root === 'vars' || root === 'secrets') {
      const declared = names[root];
      if (!declared.includes(name as string)) {
        return new ExprError(
          `unknown ${singular(root)} "${name}"; declared: ${listNames(declared)}.${didYouMean(name as string, declared)}`,
          ref.start,
        );
      }
    }
    return undefined;
  } catch (e) {
    if (e instanceof ExprError) return e;
    throw e;
  }
}

function singular(root: 'params' | 'vars' | 'secrets'): string {
  return root === 'params' ? 'param' : root === 'vars' ? 'var' : 'secret';
}

/** Validates the shape of a reference (not the names of params/vars/secrets). Throws ExprError. */
function shapeOf(ref: RefNode, where: RefContext): void {
  const [root, field, ...rest] = ref.path as [string, string | undefined, ...string[]];
  const at = ref.start;
  const text = ref.path.join('.');
  if (!(ROOTS as readonly string[]).includes(root)) {
    throw new ExprError(
      `unknown name "${root}": expressions start with one of ${listNames(ROOTS)}.${didYouMean(root, ROOTS)}`,
      at,
    );
  }
  if (ref.type === 'call') {
    if (text !== 'host.date')
      throw new ExprError(`unknown function ${text}(): the only function is host.date('%Y%m%d')`, at);
    if (!where.template) {
      throw new ExprError(
        "host.date() is evaluated by the host's shell when the command runs, so it can only be used inside {{ }} in step params",
        at,
      );
    }
    const arg = ref.args[0];
    if (ref.args.length !== 1 || arg?.type !== 'literal' || typeof arg.value !== 'string') {
      throw new ExprError("host.date() takes one quoted strftime format, e.g. host.date('%Y%m%d')", at);
    }
    try {
      quote({ hostDate: arg.value });
    } catch {
      throw new ExprError(
        `unsupported date format '${arg.value}': use strftime letters with digits, - _ : . , + and spaces`,
        arg.start,
      );
    }
    return;
  }
  if (root === 'params' || root === 'vars' || root === 'secrets') {
    if (field === undefined || rest.length > 0)
      throw new ExprError(`expected ${root}.NAME, found ${text}`, at);
    if (root === 'secrets' && !where.template) {
      throw new ExprError(
        'secrets cannot be used in conditions (they would leak through the plan); use them only inside {{ }} in step params',
        at,
      );
    }
    return;
  }
  if (root === 'run') {
    if (field !== 'id' || rest.length > 0) throw new ExprError(`expected run.id, found ${text}`, at);
    return;
  }
  if (root === 'neighbour' && !where.neighbour) {
    throw new ExprError("neighbour.* is only known inside a phase's drain (upstream and health.url)", at);
  }
  if (field === undefined)
    throw new ExprError(`expected ${root}.FIELD with FIELD one of ${listNames(HOST_FIELDS)}`, at);
  if (!(HOST_FIELDS as readonly string[]).includes(field)) {
    throw new ExprError(
      `unknown field ${root}.${field}: expected one of ${listNames(HOST_FIELDS)}.${didYouMean(field, HOST_FIELDS)}`,
      at,
    );
  }
  if (field !== 'vars' && rest.length > 0)
    throw new ExprError(`${root}.${field} has no field "${rest[0]}"`, at);
}

const templateCache = new Map<string, Template | ExprError>();
const expressionCache = new Map<string, ExprNode | ExprError>();

/** Parses a template once per distinct text (plans render the same text per host). Example: cachedTemplate('x{{ params.a }}'). Throws ExprError. */
export function cachedTemplate(text: string): Template {
  let entry = templateCache.get(text);
  if (entry === undefined) {
    try {
      entry = parseTemplate(text);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      entry = e;
    }
    templateCache.set(text, entry);
  }
  if (entry instanceof ExprError) throw entry;
  return entry;
}

/** Parses an expression once per distinct text. Example: cachedExpression("'web' in host.roles"). Throws ExprError. */
export function cachedExpression(text: string): ExprNode {
  let entry = expressionCache.get(text);
  if (entry === undefined) {
    try {
      entry = parseExpression(text);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      entry = e;
    }
    expressionCache.set(text, entry);
  }
  if (entry instanceof ExprError) throw entry;
  return entry;
}

/** Evaluates a parsed node; `template` allows secrets and host dates as results. Example: evaluateNode(parseExpression('1 < 2'), scope, false) -> true. Throws ExprError. */
export function evaluateNode(
  node: ExprNode,
  scope: TemplateScope,
  template: boolean,
  varStack: readonly string[] = [],
): Value {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'list':
      return node.items.map((item) => plain(evaluateNode(item, scope, template, varStack), item));
    case 'ref':
    case 'call':
      return resolveRef(node, scope, template, varStack);
    case 'not':
      return !truthy(evaluateNode(node.operand, scope, template, varStack), node.operand);
    case 'logical': {
      const left = truthy(evaluateNode(node.left, scope, template, varStack), node.left);
      if (node.op === 'and' && !left) return false;
      if (node.op === 'or' && left) return true;
      return truthy(evaluateNode(node.right, scope, template, varStack), node.right);
    }
    case 'compare': {
      const left = plain(evaluateNode(node.left, scope, template, varStack), node.left);
      const right = plain(evaluateNode(node.right, scope, template, varStack), node.right);
      return compare(node.op, left, right, node);
    }
  }
}

function resolveRef(
  ref: RefNode,
  scope: TemplateScope,
  template: boolean,
  varStack: readonly string[],
): Value {
  shapeOf(ref, { template, neighbour: true });
  const [root, field, ...rest] = ref.path as [string, string, ...string[]];
  const at = ref.start;
  switch (root) {
    case 'params': {
      if (!Object.hasOwn(scope.params, field))
        throw unknownName('param', field, Object.keys(scope.params), at);
      return scope.params[field] as string | number | boolean;
    }
    case 'secrets': {
      const secret = scope.secrets[field];
      if (!Object.hasOwn(scope.secrets, field) || !secret)
        throw unknownName('secret', field, Object.keys(scope.secrets), at);
      return secret;
    }
    case 'vars':
      return renderVar(field, scope, varStack, at);
    case 'run': {
      if (!scope.run)
        throw new ExprError('run.id is only known once a run has started; it cannot be used here', at);
      return scope.run.id;
    }
    default: {
      const host = root === 'host' ? scope.host : scope.neighbour;
      if (!host) {
        throw new ExprError(
          root === 'host'
            ? 'host.* is only known when rendering for a host'
            : "neighbour.* is only known inside a phase's drain (upstream and health.url)",
          at,
        );
      }
      if (ref.type === 'call') {
        const arg = ref.args[0] as { value: string };
        return { hostDate: arg.value };
      }
      if (field !== 'vars') return (host[field as keyof ScopeHost] ?? null) as Value;
      let value: unknown = host.vars;
      const walked = [root, 'vars'];
      for (const key of rest) {
        if (!isMap(value) || !Object.hasOwn(value, key)) {
          const known = isMap(value) ? Object.keys(value) : [];
          throw new ExprError(
            `host ${host.name} has no var ${[...walked, key].join('.')}; it has ${listNames(known)}.${didYouMean(key, known)} Add it to the inventory, or guard with '${key}' in ${walked.join('.')}`,
            at,
          );
        }
        value = value[key];
        walked.push(key);
      }
      return value as Value;
    }
  }
}

function unknownName(what: string, name: string, known: string[], at: number): ExprError {
  return new ExprError(
    `unknown ${what} "${name}"; known: ${listNames(known)}.${didYouMean(name, known)}`,
    at,
  );
}

function renderVar(name: string, scope: TemplateScope, varStack: readonly string[], at: number): Word {
  if (!Object.hasOwn(scope.vars, name)) throw unknownName('var', name, Object.keys(scope.vars), at);
  if (varStack.includes(name)) {
    throw new ExprError(
      `vars.${name} refers to itself: ${[...varStack, name].map((v) => `vars.${v}`).join(' -> ')}`,
      at,
    );
  }
  const text = scope.vars[name] as string;
  try {
    return renderTemplateWith(cachedTemplate(text), scope, [...varStack, name]);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    throw new ExprError(`in vars.${name} ("${text}") at column ${e.column}: ${e.message}`, at);
  }
}

/**
 * Renders a parsed template: literal text stays string parts, every expansion becomes an
 * `Expanded` part (or a Secret / HostDate part), so `script()` can quote it. Throws ExprError.
 * Example: renderTemplateWith(parseTemplate('x{{ params.a }}'), scope) -> TemplatedWord['x', Expanded('1')].
 */
export function renderTemplateWith(
  template: Template,
  scope: TemplateScope,
  varStack: readonly string[] = [],
): Word {
  if (!template.templated) return template.text;
  const parts: Part[] = [];
  for (const segment of template.segments) {
    if (segment.type === 'text') parts.push(segment.text);
    else parts.push(...partsOfValue(evaluateNode(segment.node, scope, true, varStack), segment.node));
  }
  return new TemplatedWord(parts);
}

function partsOfValue(value: Value, node: ExprNode): Part[] {
  if (value instanceof Secret || isHostDate(value)) return [value];
  if (value instanceof TemplatedWord || value instanceof Expanded)
    return partsOf(value).map((p) => (typeof p === 'string' ? new Expanded(p) : p));
  return [new Expanded(plainText(value, node))];
}

function plainText(value: Value, node: ExprNode): string {
  const v = plain(value, node);
  if (v === null)
    throw new ExprError(
      `${source(node)} is empty (null); give it a value in the inventory or runbook`,
      node.start,
    );
  if (Array.isArray(v)) return v.map((item) => plainText(item, node)).join(',');
  if (isMap(v))
    throw new ExprError(
      `${source(node)} is a map; pick one of its keys, e.g. ${source(node)}.${Object.keys(v)[0] ?? 'key'}`,
      node.start,
    );
  return String(v);
}

/** A controller-side value: refuses secrets and host dates, turns rendered vars into text. */
function plain(value: Value, node: ExprNode): Plain {
  if (value instanceof Expanded) return value.text;
  if (value instanceof Secret) {
    throw new ExprError(
      `${source(node)} is a secret; secrets can only be inserted into step params, never compared`,
      node.start,
    );
  }
  if (isHostDate(value)) {
    throw new ExprError(`${source(node)} is evaluated by the host's shell and has no value here`, node.start);
  }
  if (value instanceof TemplatedWord) {
    const parts = partsOf(value);
    if (parts.some((p) => p instanceof Secret || isHostDate(p))) {
      throw new ExprError(`${source(node)} holds a secret or host.date() and cannot be compared`, node.start);
    }
    return parts.map(String).join('');
  }
  return value as Plain;
}

function source(node: ExprNode): string {
  return node.type === 'ref' || node.type === 'call' ? node.path.join('.') : 'the value';
}

function isMap(v: unknown): v is Record<string, Value> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Secret) &&
    !(v instanceof TemplatedWord) &&
    !(v instanceof Expanded) &&
    !isHostDate(v)
  );
}

/** Truthiness for `and`, `or`, `not` and `when`: false, 0, '', null and [] are false. */
function truthy(value: Value, node: ExprNode): boolean {
  const v = plain(value, node);
  if (Array.isArray(v)) return v.length > 0;
  return Boolean(v);
}

type Plain = Exclude<Value, Secret | HostDate | TemplatedWord | Expanded>;

function compare(op: string, left: Plain, right: Plain, node: ExprNode): boolean {
  switch (op) {
    case '==':
      return equal(left, right);
    case '!=':
      return !equal(left, right);
    case 'in':
    case 'not in': {
      const found = contains(right, left, node);
      return op === 'in' ? found : !found;
    }
    default: {
      const order = ordering(left, right, node);
      if (op === '<') return order < 0;
      if (op === '<=') return order <= 0;
      if (op === '>') return order > 0;
      return order >= 0;
    }
  }
}

function contains(container: Plain, item: Plain, node: ExprNode): boolean {
  if (Array.isArray(container)) return container.some((c) => equal(c as Plain, item));
  if (typeof container === 'string') {
    if (typeof item !== 'string' && typeof item !== 'number')
      throw new ExprError('"in" on text needs text on its left', node.start);
    return container.includes(String(item));
  }
  if (isMap(container)) return typeof item === 'string' && Object.hasOwn(container, item);
  throw new ExprError(
    `"in" needs a list, a text or a map on its right, found ${JSON.stringify(container)}`,
    node.start,
  );
}

function isNumeric(v: Plain): v is number | string {
  return typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
}

function equal(a: Plain, b: Plain): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((x, i) => equal(x as Plain, b[i] as Plain))
    );
  }
  if (typeof a === 'boolean' || typeof b === 'boolean' || a === null || b === null) return a === b;
  if (isMap(a) || isMap(b)) return false;
  if (typeof a === 'string' && typeof b === 'string' && looksLikeVersion(a) && looksLikeVersion(b))
    return compareVersions(a, b) === 0;
  if (isNumeric(a) && isNumeric(b)) return Number(a) === Number(b);
  return String(a) === String(b);
}

/** Versions part by part when both look like dotted versions; numbers numerically; else text. */
function ordering(a: Plain, b: Plain, node: ExprNode): number {
  const comparable = (v: Plain) => typeof v === 'string' || typeof v === 'number';
  if (!comparable(a) || !comparable(b)) {
    throw new ExprError(
      `cannot order ${JSON.stringify(a)} and ${JSON.stringify(b)}: <, <=, >, >= compare texts, numbers and versions`,
      node.start,
    );
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string' && looksLikeVersion(a) && looksLikeVersion(b))
    return compareVersions(a, b);
  if (isNumeric(a) && isNumeric(b)) return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
