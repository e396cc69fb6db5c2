/**
 * Templates: `{{ expr }}` inside runbook strings, rendered per host into Words. Literal text
 * stays as the author wrote it; expansions become `Expanded` parts (quoted by `script()`),
 * `secrets.x` a Secret part, `host.date('%Y%m%d')` a HostDate part the host's shell evaluates.
 */
import { Secret } from '../shell/secret.js';
import { isHostDate, TemplatedWord, type Word } from '../shell/word.js';
import { cachedTemplate, renderTemplateWith, type ScopeHost, type TemplateScope } from './evaluator.js';
import { ExprError, parseTemplate, type Template } from './syntax.js';

export { ExprError as TemplateError, parseTemplate, type ScopeHost, type Template, type TemplateScope };

/**
 * Renders one template string. Returns the string itself when nothing is templated.
 * Example: renderTemplate('apigateway{{ params.instance }}', scope) -> TemplatedWord['apigateway', Expanded('cmw')].
 * Throws ExprError (a TemplateError) whose message and `column` point at the expression.
 */
export function renderTemplate(text: string, scope: TemplateScope): Word {
  try {
    return renderTemplateWith(cachedTemplate(text), scope);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    throw new ExprError(`in "${text}" at column ${e.column}: ${e.message}`, e.offset);
  }
}

/**
 * Renders every string inside a params value (objects and arrays, deep); other values are kept.
 * Example: renderParams({ unit: 'x{{ params.i }}', ports: [80] }, scope) -> { unit: Word, ports: [80] }.
 */
export function renderParams(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return renderTemplate(value, scope);
  if (Array.isArray(value)) return value.map((item) => renderParams(item, scope));
  if (value instanceof TemplatedWord || value instanceof Secret || isHostDate(value)) return value;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderParams(item, scope)]));
  }
  return value;
}
