/**
 * Conditions: `when`, `where`, `skip_when`, `group_by`. Literals ('text', numbers, versions
 * like 5.0.23654.0, true/false, [lists]), references (params.x, vars.x, host.name|address|port|
 * user|roles|vars.x, neighbour.*, run.id), `== != < <= > >=`, `in`, `not in`, `and`, `or`,
 * `not` and parentheses. Versions compare part by part; numbers numerically; else as text.
 */
import { cachedExpression, evaluateNode, type TemplateScope, type Value } from './evaluator.js';
import { ExprError, type ExprNode, parseExpression } from './syntax.js';

export { compareVersions } from './version.js';
export { ExprError, type ExprNode, parseExpression };

/**
 * Evaluates a condition for one scope. Throws ExprError naming the expression and the column.
 * Example: evaluate("params.version >= '5.0.23654.0' and 'web' in host.roles", scope) -> true.
 */
export function evaluate(expression: string, scope: TemplateScope): Value {
  try {
    return evaluateNode(cachedExpression(expression), scope, false);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    throw new ExprError(`in "${expression}" at column ${e.column}: ${e.message}`, e.offset);
  }
}
