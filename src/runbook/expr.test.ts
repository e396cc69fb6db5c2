import { describe, expect, it } from 'vitest';
import { Secret } from '../shell/secret.js';
import type { TemplateScope } from './evaluator.js';
import { ExprError, evaluate, parseExpression } from './expr.js';

const web = {
  name: 'web',
  address: '10.0.0.10',
  port: 22,
  user: 'root',
  roles: ['web'],
  vars: { service: 'ecsc', weight: '10', tags: ['a', 'b'] },
};

function scope(overrides: Partial<TemplateScope> = {}): TemplateScope {
  return {
    params: { version: '5.0.23654.0', instance: 'cmw', replicas: 3, dry: false },
    vars: { log_dir: '/var/log/comindware/{{ params.instance }}' },
    secrets: { pw: new Secret('pw', 's3cr3t-value') },
    host: web,
    ...overrides,
  };
}

function errorOf(fn: () => unknown): ExprError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ExprError) return e;
    throw e;
  }
  throw new Error('expected an ExprError');
}

describe('evaluate', () => {
  it('compares versions part by part, on either side, quoted or not', () => {
    expect(evaluate("params.version >= '5.0.23654.0'", scope())).toBe(true);
    expect(evaluate("params.version > '5.0.9999.12'", scope())).toBe(true);
    expect(evaluate('params.version < 5.0.9999.12', scope())).toBe(false);
    expect(evaluate("'5.0.9999.12' < params.version", scope())).toBe(true);
    expect(evaluate("params.version == '5.0.23654.0.0'", scope())).toBe(true);
    // Two parts unquoted: 5.10 is the version after 5.9, not the number 5.1.
    const two = scope({ params: { version: '5.9' } });
    expect(evaluate('params.version >= 5.10', two)).toBe(false);
    expect(evaluate('params.version < 5.10', two)).toBe(true);
    expect(evaluate('params.version == 5.9', two)).toBe(true);
  });

  it('compares numbers numerically, numeric texts too, and other texts as text', () => {
    expect(evaluate('params.replicas > 2', scope())).toBe(true);
    expect(evaluate('host.vars.weight > 9', scope())).toBe(true);
    expect(evaluate("host.vars.weight == '10'", scope())).toBe(true);
    expect(evaluate("host.name < 'xyz'", scope())).toBe(true);
  });

  it('reads roles, vars, host fields and rendered vars', () => {
    expect(evaluate("'web' in host.roles", scope())).toBe(true);
    expect(evaluate("'backup' not in host.roles", scope())).toBe(true);
    expect(evaluate("host.vars.service == 'ecsc'", scope())).toBe(true);
    expect(evaluate("'service' in host.vars and not ('missing' in host.vars)", scope())).toBe(true);
    expect(evaluate("host.address == '10.0.0.10' and host.port == 22 and host.user == 'root'", scope())).toBe(
      true,
    );
    expect(evaluate("vars.log_dir == '/var/log/comindware/cmw'", scope())).toBe(true);
    expect(evaluate("'comindware' in vars.log_dir", scope())).toBe(true);
    expect(evaluate("host.name in ['db', 'web']", scope())).toBe(true);
    expect(evaluate('host.vars.service', scope())).toBe('ecsc');
  });

  it('applies precedence: not binds tighter than and, and than or; parentheses group', () => {
    expect(evaluate('true or false and false', scope())).toBe(true);
    expect(evaluate('(true or false) and false', scope())).toBe(false);
    expect(evaluate('not false and false', scope())).toBe(false);
    expect(evaluate('not (false and false)', scope())).toBe(true);
  });

  it('short-circuits, so a guard protects a missing var', () => {
    expect(evaluate("'nope' in host.vars and host.vars.nope == 1", scope())).toBe(false);
  });

  it('refuses secrets and host dates in conditions', () => {
    expect(errorOf(() => evaluate("secrets.pw == 'x'", scope())).message).toContain(
      'secrets cannot be used in conditions',
    );
    expect(errorOf(() => evaluate("host.date('%Y') == '2024'", scope())).message).toContain(
      'only be used inside {{ }}',
    );
  });

  it('names the expression and the column of the problem', () => {
    const e = errorOf(() => evaluate("params.version >= '5.0' and params.verison == '1'", scope()));
    expect(e.message).toBe(
      'in "params.version >= \'5.0\' and params.verison == \'1\'" at column 29: unknown param "verison"; known: "version", "instance", "replicas", "dry". Did you mean "version"?',
    );
    expect(e.column).toBe(29);
  });

  it('explains a missing host var and how to guard it', () => {
    const e = errorOf(() => evaluate("host.vars.servise == 'x'", scope()));
    expect(e.message).toContain('host web has no var host.vars.servise');
    expect(e.message).toContain('Did you mean "service"?');
  });

  it('refuses neighbour outside a drain and run.id before a run', () => {
    expect(errorOf(() => evaluate("neighbour.name == 'x'", scope())).message).toContain(
      "only known inside a phase's drain",
    );
    expect(errorOf(() => evaluate("run.id == 'x'", scope())).message).toContain('once a run has started');
    expect(evaluate("run.id == 'r1'", scope({ run: { id: 'r1' } }))).toBe(true);
  });
});

describe('parseExpression', () => {
  it.each([
    ['params.version >= && x', 'unexpected "&&": use `and` instead of `&&`', 18],
    ["host.name = 'x'", 'unexpected "=": use `==` to compare', 10],
    ["'web' in host.roles and", 'expected a value', 23],
    ["(a.b == 'x'", 'expected ")" to close the parenthesis', 11],
    ["host.name == 'x", 'unterminated string', 13],
    ['', 'empty expression', 0],
    ["host.name == 'a' 'b'", "unexpected the string 'b'", 17],
  ])('reports %j at its offset', (text, message, offset) => {
    const e = errorOf(() => parseExpression(text));
    expect(e.message).toContain(message);
    expect(e.offset).toBe(offset);
  });

  it('parses dotted literals as text (versions) and whole numbers as numbers', () => {
    expect(parseExpression('5.0.23654.0')).toMatchObject({ type: 'literal', value: '5.0.23654.0' });
    expect(parseExpression('1.5')).toMatchObject({ type: 'literal', value: '1.5' });
    expect(parseExpression('15')).toMatchObject({ type: 'literal', value: 15 });
    // Against a number, a dotted literal still orders as a number.
    expect(evaluate('params.replicas > 2.5', scope())).toBe(true);
    expect(evaluate('params.replicas < 3.5', scope())).toBe(true);
  });
});
