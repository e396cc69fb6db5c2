import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { script } from '../shell/command.js';
import { Secret } from '../shell/secret.js';
import { Expanded, TemplatedWord } from '../shell/word.js';
import { ExprError } from './syntax.js';
import { renderParams, renderTemplate, type TemplateScope } from './template.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-template-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const host = {
  name: 'web',
  address: '10.0.0.10',
  port: 22,
  user: 'root',
  roles: ['web', 'integration'],
  vars: { service: 'ecsc', port: 8080 },
};

function scope(
  params: TemplateScope['params'] = { instance: 'cmw', version: '5.0.23654.0' },
  extra: Partial<TemplateScope> = {},
): TemplateScope {
  return {
    params,
    vars: {
      log_dir: '/var/log/comindware/{{ params.instance }}',
      heartbeat: "{{ vars.log_dir }}/heartbeat_{{ host.date('%Y%m%d') }}.log",
      a: '{{ vars.b }}',
      b: 'x{{ vars.a }}',
    },
    secrets: { distr_password: new Secret('distr_password', 'Pa55word!') },
    host,
    ...extra,
  };
}

function sh(command: string): string {
  return execFileSync('sh', ['-c', command], { encoding: 'utf8', cwd: dir });
}

describe('renderTemplate', () => {
  it('returns the text itself when nothing is templated', () => {
    expect(renderTemplate('systemctl stop nginx', scope())).toBe('systemctl stop nginx');
  });

  it('keeps literal text as strings and expansions as Expanded parts', () => {
    const word = renderTemplate('apigateway{{ params.instance }}.service', scope());
    expect(word).toBeInstanceOf(TemplatedWord);
    expect((word as TemplatedWord).parts).toEqual(['apigateway', new Expanded('cmw'), '.service']);
    expect(String(word)).toBe('apigatewaycmw.service');
  });

  it('renders host fields, roles (joined) and host vars', () => {
    expect(
      String(
        renderTemplate(
          '{{ host.name }}@{{ host.address }}:{{ host.port }} {{ host.roles }} {{ host.vars.port }}',
          scope(),
        ),
      ),
    ).toBe('web@10.0.0.10:22 web,integration 8080');
  });

  it('renders vars through params and other vars, their whole text counting as expanded', () => {
    const word = renderTemplate('tail {{ vars.log_dir }}', scope()) as TemplatedWord;
    expect(word.parts).toEqual(['tail ', new Expanded('/var/log/comindware/'), new Expanded('cmw')]);
  });

  it('yields a Secret part for secrets and a HostDate part for host.date()', () => {
    const word = renderTemplate(
      "pw={{ secrets.distr_password }} d={{ host.date('%Y%m%d') }}",
      scope(),
    ) as TemplatedWord;
    expect(word.parts[1]).toBeInstanceOf(Secret);
    expect(word.parts[3]).toEqual({ hostDate: '%Y%m%d' });
    expect(String(word)).toBe('pw=<secret:distr_password> d=$(date +%Y%m%d)');
  });

  it('supports a literal {{ through a string expression', () => {
    expect(String(renderTemplate("a {{ '{{' }} b", scope()))).toBe('a {{ b');
  });

  it('errors carry the column of the expression and name the template', () => {
    let error: unknown;
    try {
      renderTemplate('unit: apigateway{{ params.instnce }}', scope());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExprError);
    expect((error as ExprError).column).toBe(20);
    expect((error as ExprError).message).toBe(
      'in "unit: apigateway{{ params.instnce }}" at column 20: unknown param "instnce"; known: "instance", "version". Did you mean "instance"?',
    );
  });

  it('reports syntax errors at the opening braces and cycles between vars', () => {
    expect(() => renderTemplate('x {{ params.instance', scope())).toThrow('at column 3: unclosed "{{"');
    expect(() => renderTemplate('{{ vars.a }}', scope())).toThrow(
      'vars.a refers to itself: vars.a -> vars.b -> vars.a',
    );
  });

  it('refuses neighbour outside a drain scope and renders it inside one', () => {
    expect(() => renderTemplate('http://{{ neighbour.address }}:8080', scope())).toThrow(
      "only known inside a phase's drain",
    );
    const neighbour = { ...host, name: 'backup', address: '10.0.0.12' };
    expect(
      String(renderTemplate('http://{{ neighbour.address }}:8080', scope(undefined, { neighbour }))),
    ).toBe('http://10.0.0.12:8080');
  });
});

describe('renderTemplate inside script()', () => {
  it('keeps a hostile param one quoted word, so the shell never runs it', () => {
    const pwned = join(dir, 'pwned');
    const instance = `x; touch ${pwned}`;
    const command = script(renderTemplate('echo -n {{ params.instance }}', scope({ instance })));
    expect(command.render()).toBe(`echo -n 'x; touch ${pwned}'`);
    expect(sh(command.render())).toBe(instance);
    expect(existsSync(pwned)).toBe(false);
  });

  it('quotes quotes, $() and backticks in expanded values', () => {
    const instance = "it's $(touch pwned2) `touch pwned3`";
    const command = script(renderTemplate('printf %s {{ params.instance }}', scope({ instance })));
    expect(sh(command.render())).toBe(instance);
    expect(existsSync(join(dir, 'pwned2')) || existsSync(join(dir, 'pwned3'))).toBe(false);
  });

  it('keeps a value text where the author put it inside quotes', () => {
    const hostile = `x'; touch ${join(dir, 'pwned4')}; echo '"$(touch ${join(dir, 'pwned5')})\\\`touch ${join(dir, 'pwned6')}\``;
    for (const command of [
      "printf %s '<{{ params.instance }}>'",
      'printf %s "<{{ params.instance }}>"',
      'printf %s "<$(printf %s {{ params.instance }})>"',
      'printf %s "<\'{{ params.instance }}\'>"',
    ]) {
      const rendered = script(renderTemplate(command, scope({ instance: hostile }))).render();
      const expected = command.includes('"<\'') ? `<'${hostile}'>` : `<${hostile}>`;
      expect(sh(rendered), command).toBe(expected);
    }
    for (const n of [4, 5, 6]) expect(existsSync(join(dir, `pwned${n}`))).toBe(false);
    const secret = script(renderTemplate('printf %s "{{ secrets.distr_password }}"', scope()));
    expect(secret.toString()).toBe('printf %s "<secret:distr_password>"');
    expect(sh(secret.render('exec'))).toBe('Pa55word!');
    const date = script(
      renderTemplate(`echo -n "d={{ host.date('%Y%m%d') }}" 'e={{ host.date('%Y') }}'`, scope()),
    );
    expect(date.render()).toBe(`echo -n "d=$(date +%Y%m%d)" 'e='"$(date +%Y)"''`);
    expect(sh(date.render())).toMatch(/^d=\d{8} e=\d{4}$/);
  });

  it('refuses a value where no quoting keeps it text: comments, backticks, here-documents', () => {
    const refused = (command: string) => () => script(renderTemplate(command, scope()));
    expect(refused('true # {{ params.instance }}')).toThrow('in a comment');
    expect(refused('echo `echo {{ params.instance }}`')).toThrow('inside backticks');
    expect(refused('cat <<EOF\n{{ params.instance }}\nEOF')).toThrow('after a here-document');
    expect(refused('echo \\{{ params.instance }}')).toThrow('after a backslash');
    // Not comments: a # inside a word or quotes, and a value after the comment's line.
    expect(sh(script(renderTemplate('echo -n a#{{ params.instance }}', scope())).render())).toBe('a#cmw');
    expect(sh(script(renderTemplate("echo -n '#'{{ params.instance }}", scope())).render())).toBe('#cmw');
    expect(sh(script(renderTemplate('# note\necho -n {{ params.instance }}', scope())).render())).toBe('cmw');
  });

  it('evaluates host.date() in the shell that runs the command', () => {
    const command = script(renderTemplate("echo -n /home/ecsc_{{ host.date('%Y%m%d') }}", scope()));
    expect(command.render()).toBe('echo -n /home/ecsc_"$(date +%Y%m%d)"');
    expect(sh(command.render())).toMatch(/^\/home\/ecsc_\d{8}$/);
  });

  it('reveals a secret only when executing, never in the display form', () => {
    const command = script(renderTemplate('printf %s {{ secrets.distr_password }}', scope()));
    expect(command.toString()).toBe('printf %s <secret:distr_password>');
    expect(sh(command.render('exec'))).toBe('Pa55word!');
  });
});

describe('renderParams', () => {
  it('renders every string, deep, and keeps other values', () => {
    const out = renderParams(
      { unit: 'x{{ params.instance }}', ports: [80, '{{ host.vars.port }}'], opts: { on: true, path: '/p' } },
      scope(),
    ) as {
      unit: TemplatedWord;
      ports: [number, TemplatedWord];
      opts: { on: boolean; path: string };
    };
    expect(String(out.unit)).toBe('xcmw');
    expect(out.ports[0]).toBe(80);
    expect(String(out.ports[1])).toBe('8080');
    expect(out.opts).toEqual({ on: true, path: '/p' });
  });
});
