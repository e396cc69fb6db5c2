import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, InputError } from '../errors.js';
import { loadInventory } from '../inventory/load.js';
import { testKinds } from '../testing/step-kinds.js';
import { loadRunbook, parseRunbook } from './load.js';
import { checkAgainstInventory } from './rules.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Every problem of a runbook text as `file:line:col: path: message` lines (errors and warnings). */
function problemsOf(text: string): string[] {
  return parseRunbook(text, 'rb.yml', { kinds: testKinds }).problems.map(formatProblem);
}

function errorsOf(text: string): string[] {
  return parseRunbook(text, 'rb.yml', { kinds: testKinds })
    .problems.filter((p) => p.severity === 'error')
    .map(formatProblem);
}

const INVENTORY = `cluster: comindware-lab
hosts:
  backup: { address: 10.0.0.12, roles: [backup] }
  integration: { address: 10.0.0.11, roles: [integration] }
  web: { address: 10.0.0.10, roles: [web], vars: { service: web } }
`;

async function rejection(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('loadRunbook: every problem at once', () => {
  it('reports a wrong type, an unknown kind, an unknown role and a malformed line, each at file:line:col', async () => {
    const file = write(
      'broken.yml',
      `name: comindware-upgrade
params:
  instance: { type: string, default: cmw }
phases:
  - id: upgrade
    hosts: { roles: [backup, integraton, web] }
    rolling: { serial: 1, failure_budget: 0
    steps:
      - name: Stop the gateway
        test.stop: { unit: "apigateway{{ params.instance }}" }
        retries: two
      - sevice.stop: { unit: x }
`,
    );
    const inventory = await loadInventory(write('inventory.yml', INVENTORY));
    const error = await rejection(loadRunbook(file, { kinds: testKinds, inventory }));
    expect(error.message.split('\n')).toEqual([
      `${file}:6:30: phases/0/hosts/roles/1: unknown role "integraton": no host of inventory ${inventory.file} has it. Did you mean "integration"? Roles there: "backup", "integration", "web".`,
      `${file}:7:14: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }: this { is never closed. Check indentation, brackets and quotes.`,
      `${file}:11:18: phases/0/steps/0/retries: expected a number, got the text "two"`,
      `${file}:12:9: phases/0/steps/1/sevice.stop: unknown step kind "sevice.stop". Known kinds: "test.http", "test.run", "test.stop", "test.wait" (see \`cutover docs\`).`,
    ]);
    expect(error.problems).toHaveLength(4);
    expect(error.exitCode).toBe(2);
  });

  it('reports the parser error of a line it cannot get past, with the problems it can still see', async () => {
    const file = write(
      'quote.yml',
      `name: x
descripton: the quote below is never closed
phases:
  - hosts: all
    steps:
      - test.stop: { unit: "apigateway }
        retries: -1
`,
    );
    const error = await rejection(loadRunbook(file, { kinds: testKinds }));
    expect(error.message.split('\n')).toEqual([
      `${file}:2:1: descripton: unknown key "descripton". Did you mean "description"? Allowed here: "$schema", "name", "description", "params", "secrets", "vars", "safe_programs", "preflight", "phases".`,
      `${file}:6:28: YAML syntax error: Missing closing "quote. Check indentation, brackets and quotes.`,
    ]);
  });

  it('lets the CLI add inventory checks after loading (checkAgainstInventory)', async () => {
    const file = write(
      'roles.yml',
      `name: x
phases:
  - hosts: { roles: [web, bakup], hosts: [wbe] }
    drain: { config: /etc/nginx/x, locations: [/], upstream: "http://{{ neighbour.address }}", neighbours: { roles: [db] } }
    steps:
      - test.run: { command: "echo {{ host.vars.servce }}" }
`,
    );
    const { runbook } = await loadRunbook(file, { kinds: testKinds });
    const inventory = await loadInventory(write('inventory2.yml', INVENTORY));
    expect(checkAgainstInventory(runbook, inventory).map(formatProblem)).toEqual([
      `${file}:3:27: phases/0/hosts/roles/1: unknown role "bakup": no host of inventory ${inventory.file} has it. Did you mean "backup"? Roles there: "backup", "integration", "web".`,
      `${file}:3:43: phases/0/hosts/hosts/0: unknown host "wbe": inventory ${inventory.file} has no such host. Did you mean "web"? Hosts there: "backup", "integration", "web".`,
      `${file}:4:118: phases/0/drain/neighbours/roles/0: unknown role "db": no host of inventory ${inventory.file} has it. Roles there: "backup", "integration", "web".`,
      `${file}:6:9: phase-1/test.run: host.vars.servce: no host of inventory ${inventory.file} has a var "servce". Did you mean "service"? Add it to the inventory.`,
    ]);
  });

  it('names a missing file', async () => {
    const error = await rejection(loadRunbook(join(dir, 'nope.yml')));
    expect(error.message).toBe(`${join(dir, 'nope.yml')}:1:1: cannot read the runbook: no such file`);
  });
});

describe('loadRunbook: the model', () => {
  it('loads the documented shape with defaults, generated ids and warnings', async () => {
    const file = write(
      'good.yml',
      `$schema: ../../schema/runbook.schema.json
name: comindware-upgrade
description: Upgrade a Comindware cluster
params:
  instance: { type: string, pattern: '[A-Za-z0-9_-]+', description: instance name, default: cmw }
  version: { type: version, required: true }
secrets:
  distr_password: { from: [{ env: CMW_DISTR_PASSWORD }, { file: ~/.cmw-pass }, { prompt: true }], description: distribution password }
vars:
  log_dir: "/var/log/comindware/{{ params.instance }}"
  retries: 3
preflight:
  - test.wait: { path: "{{ vars.log_dir }}/x.log", pattern: ready }
phases:
  - name: Upgrade node by node
    hosts: { roles: [backup, integration, web] }
    rolling: { serial: 2, canary: { hosts: 1, pause: 5m, confirm: true }, group_by: host.vars.service }
    drain:
      config: /etc/nginx/sites-enabled/comindware{{ params.instance }}
      locations: [/async, /]
      upstream: "http://{{ neighbour.address }}:8080"
      health: { url: "http://{{ neighbour.address }}:8080/" }
      skip_when: "'backup' in host.roles"
    steps:
      - name: Stop the API gateway
        test.stop: { unit: "apigateway{{ params.instance }}" }
        when: "params.version >= '5.0.23654.0' and 'web' in host.roles"
        timeout: 2m
        retries: 2
        retry_delay: 10s
        source: seed.md:42
      - name: Stop the API gateway
        test.stop: { unit: x }
      - test.run: { command: "bash instance_upgrade.sh -n={{ params.instance }}" }
        todo: check the -vp flag
      - test.run: { command: "true" }
  - id: verify
    hosts: [web, backup]
    steps:
      # TODO: add the login check
      - id: wait-ready
        test.wait: { path: /var/log/x.log, pattern: ready }
      - id: wait-ready-2
        test.wait: { path: /var/log/y.log, pattern: up, since: wait-ready }
  - hosts: all
    steps:
      - test.stop: { unit: a }
`,
    );
    const { runbook, warnings } = await loadRunbook(file, { kinds: testKinds }).catch((e) => {
      throw new Error((e as InputError).message);
    });
    expect(warnings.map(formatProblem)).toEqual([
      `${file}:35:9: phases/0/steps/2/todo: TODO: check the -vp flag — check this step, then delete the todo field`,
      `${file}:40:7: TODO: add the login check — resolve it, then delete the comment`,
    ]);
    expect(runbook.file).toBe(file);
    expect(runbook.name).toBe('comindware-upgrade');
    expect(runbook.params).toEqual({
      instance: {
        type: 'string',
        required: false,
        default: 'cmw',
        pattern: '[A-Za-z0-9_-]+',
        description: 'instance name',
      },
      version: { type: 'version', required: true },
    });
    expect(runbook.secrets.distr_password?.from).toEqual([
      { env: 'CMW_DISTR_PASSWORD' },
      { file: '~/.cmw-pass' },
      { prompt: true },
    ]);
    expect(runbook.vars).toEqual({ log_dir: '/var/log/comindware/{{ params.instance }}', retries: '3' });
    expect(runbook.preflight.map((s) => [s.id, s.kind])).toEqual([['test.wait', 'test.wait']]);

    const [upgrade, verify, third] = runbook.phases;
    expect(upgrade?.id).toBe('upgrade-node-by-node');
    expect(upgrade?.hosts).toEqual({ roles: ['backup', 'integration', 'web'] });
    // With group_by and no max_unavailable, serial is per group and nothing caps the phase.
    expect(upgrade?.rolling).toEqual({
      serial: 2,
      failureBudget: 0,
      canary: { hosts: 1, pauseMs: 300_000, confirm: true },
      groupBy: 'host.vars.service',
    });
    expect(upgrade?.drain).toEqual({
      config: '/etc/nginx/sites-enabled/comindware{{ params.instance }}',
      locations: ['/async', '/'],
      upstream: 'http://{{ neighbour.address }}:8080',
      neighbours: { roles: ['backup', 'integration', 'web'] },
      health: { url: 'http://{{ neighbour.address }}:8080/', expectStatus: [200] },
      maxDrained: 1,
      skipWhen: "'backup' in host.roles",
    });
    expect(upgrade?.steps.map((s) => s.id)).toEqual([
      'stop-the-api-gateway',
      'stop-the-api-gateway-2',
      'test.run',
      'test.run-2',
    ]);
    expect(upgrade?.steps[0]).toEqual({
      id: 'stop-the-api-gateway',
      name: 'Stop the API gateway',
      kind: 'test.stop',
      params: { unit: 'apigateway{{ params.instance }}' },
      when: "params.version >= '5.0.23654.0' and 'web' in host.roles",
      timeoutMs: 120_000,
      retries: 2,
      retryDelayMs: 10_000,
      loc: { file, line: 25, col: 9 },
      source: 'seed.md:42',
    });
    expect(upgrade?.steps[1]).toMatchObject({ retries: 0, retryDelayMs: 5000 });
    expect(upgrade?.steps[1]?.timeoutMs).toBeUndefined();
    expect(upgrade?.steps[2]?.todo).toBe('check the -vp flag');
    expect(verify).toMatchObject({ id: 'verify', name: 'verify', hosts: { hosts: ['web', 'backup'] } });
    expect(third).toMatchObject({
      id: 'phase-3',
      hosts: {},
      rolling: { serial: 1, maxUnavailable: 1, failureBudget: 0 },
    });
    expect(runbook.sourceLocs?.['phases/0/hosts/roles/2']).toEqual({ file, line: 16, col: 43 });
  });

  it('reports a # TODO comment as a warning at the comment', () => {
    const problems = problemsOf(`name: x
phases:
  - hosts: all
    steps:
      # TODO: add the login check
      - test.stop: { unit: a }   # todo confirm the unit name
`);
    expect(problems).toEqual([
      'rb.yml:5:7: TODO: add the login check — resolve it, then delete the comment',
      'rb.yml:6:34: todo confirm the unit name — resolve it, then delete the comment',
    ]);
  });

  it('reads rolling.window as a pool of that many hosts, and refuses it beside serial', async () => {
    const file = write(
      'window.yml',
      'name: x\nphases:\n  - hosts: all\n    rolling: { window: 4 }\n    steps:\n      - test.run: { command: a }\n',
    );
    const { runbook } = await loadRunbook(file, { kinds: testKinds });
    expect(runbook.phases[0]?.rolling).toEqual({ serial: 4, window: 4, maxUnavailable: 4, failureBudget: 0 });
    expect(
      errorsOf(
        'name: x\nphases:\n  - hosts: all\n    rolling: { serial: 2, window: 4 }\n    steps:\n      - test.run: { command: a }\n',
      ),
    ).toEqual([
      'rb.yml:4:27: phases/0/rolling/window: is given with serial: roll in batches (serial: N, each batch waits for its slowest host) or keep N hosts in flight (window: N), not both; remove one',
    ]);
  });

  it('does not take a # inside a quoted string for a TODO comment', () => {
    expect(
      problemsOf(
        `name: x\nphases:\n  - hosts: all\n    steps:\n      - test.run: { command: "echo '# TODO not a comment'" }\n`,
      ),
    ).toEqual([]);
  });
});

describe('loadRunbook: steps and kinds', () => {
  const phase = (steps: string) => `name: x\nphases:\n  - id: p\n    hosts: all\n    steps:\n${steps}`;

  it('needs exactly one kind key per step', () => {
    expect(
      errorsOf(
        phase(
          '      - name: nothing to do\n        timeout: 1m\n      - test.stop: { unit: a }\n        test.run: { command: b }\n',
        ),
      ),
    ).toEqual([
      'rb.yml:6:9: phases/0/steps/0: a step needs exactly one step-kind key (e.g. "shell.run: { command: ... }"), found only "name", "timeout". Known kinds: "test.http", "test.run", "test.stop", "test.wait".',
      'rb.yml:9:9: phases/0/steps/1/test.run: a step has exactly one step-kind key, found "test.stop", "test.run"; split it into one step per kind',
    ]);
  });

  it('tells a misspelt common field from a misspelt kind', () => {
    expect(
      errorsOf(
        phase('      - test.stop: { unit: a }\n        tiemout: 1m\n      - test.stpo: { unit: a }\n'),
      ),
    ).toEqual([
      'rb.yml:7:9: phases/0/steps/0/tiemout: unknown key "tiemout". Did you mean "timeout"?',
      'rb.yml:8:9: phases/0/steps/1/test.stpo: unknown step kind "test.stpo". Did you mean "test.stop"? Known kinds: "test.http", "test.run", "test.stop", "test.wait" (see `cutover docs`).',
    ]);
  });

  it('checks the unrendered params with the kind schema, leaving templated values for later', () => {
    expect(
      errorsOf(
        phase(`      - test.stop: { unit: 42, force: "{{ params.x }}", colour: red }
      - test.stop: {}
      - test.stop:
      - test.stop: [a]
      - test.wait: { path: /x, pattern: "", lines: 0 }
`),
      ),
    ).toEqual([
      'rb.yml:6:28: phases/0/steps/0/test.stop/unit: expected a string, got the number 42',
      'rb.yml:6:43: phases/0/steps/0/test.stop/force: in template: unknown param "x"; declared: (none).',
      'rb.yml:6:57: phases/0/steps/0/test.stop/colour: unknown key "colour". Allowed here: "unit", "timeout", "force".',
      'rb.yml:7:20: phases/0/steps/1/test.stop/unit: missing required key "unit" (expected a string)',
      'rb.yml:8:9: phases/0/steps/2/test.stop/unit: missing required key "unit" (expected a string)',
      'rb.yml:9:20: phases/0/steps/3/test.stop: expected the params of test.stop as a map, e.g. "test.stop: { ... }"; see `cutover docs`',
      'rb.yml:10:41: phases/0/steps/4/test.wait/pattern: expected a non-empty text',
      'rb.yml:10:52: phases/0/steps/4/test.wait/lines: expected a number at least 1',
    ]);
  });

  it('refuses steps that change hosts in preflight, deciding by kind or by params', () => {
    expect(
      errorsOf(`name: x
preflight:
  - test.wait: { path: /x, pattern: y }
  - test.stop: { unit: a }
  - test.http: { url: "http://{{ host.address }}/" }
  - test.http: { url: http://x/, method: POST }
phases:
  - hosts: all
    steps: [{ test.run: { command: a } }]
`),
    ).toEqual([
      'rb.yml:4:5: preflight/1/test.stop: preflight steps must only read, and this "test.stop" step changes hosts; move it into a phase, or use a read-only kind: "test.http (with some params)", "test.wait"',
      'rb.yml:6:5: preflight/3/test.http: preflight steps must only read, and this "test.http" step changes hosts; move it into a phase, or use a read-only kind: "test.http (with some params)", "test.wait"',
    ]);
  });

  it('finds duplicate ids and since: references to unknown or later steps', () => {
    expect(
      errorsOf(`name: x
phases:
  - id: p
    hosts: all
    steps:
      - id: stop
        test.stop: { unit: a }
      - id: stop
        test.stop: { unit: b }
      - test.wait: { path: /l, pattern: x, since: stpo }
      - test.wait: { path: /l, pattern: x, since: later }
      - id: later
        test.run: { command: a }
  - id: p
    hosts: all
    steps: [{ test.run: { command: a } }]
`),
    ).toEqual([
      'rb.yml:8:13: phases/0/steps/1/id: duplicate step id "stop" (first used at line 6); give each a different id',
      'rb.yml:10:51: phases/0/steps/2/test.wait/since: since: "stpo" is not a step id of this phase. Did you mean "stop"? Earlier steps: "stop", "stop".',
      'rb.yml:11:51: phases/0/steps/3/test.wait/since: since: "later" comes after this step; it must name an earlier step (the one whose effect the log shows)',
      'rb.yml:14:9: phases/1/id: duplicate phase id "p" (first used at line 3); give each a different id',
    ]);
  });
});

describe('loadRunbook: fields and types', () => {
  it('reports unknown keys with suggestions, missing keys and bad values throughout the document', () => {
    expect(
      errorsOf(`name: x
paramz: {}
params:
  version: { type: verison }
  bad name: { type: string }
secrets:
  pw: { from: [{ envv: X }] }
phases:
  - hosts: { roles: [] }
    rolling: { serial: 0, canary: { hosts: 1, pause: soon } }
    stepz: []
`),
    ).toEqual([
      'rb.yml:2:1: paramz: unknown key "paramz". Did you mean "params"? Allowed here: "$schema", "name", "description", "params", "secrets", "vars", "safe_programs", "preflight", "phases".',
      'rb.yml:4:20: params/version/type: expected one of "string", "version", "number", "boolean"',
      'rb.yml:5:3: params/bad name: invalid name "bad name": expected a name of letters, digits, _ and - that starts with a letter or _, e.g. distr_password',
      'rb.yml:7:16: secrets/pw/from/0/env: missing required key "env" (expected a string)',
      'rb.yml:7:18: secrets/pw/from/0/envv: unknown key "envv". Did you mean "env"? Allowed here: "env", "file", "prompt".',
      'rb.yml:9:5: phases/0/steps: missing required key "steps" (expected a list with at least one item)',
      'rb.yml:9:21: phases/0/hosts/roles: expected at least 1 item',
      'rb.yml:10:24: phases/0/rolling/serial: expected a number at least 1',
      'rb.yml:10:54: phases/0/rolling/canary/pause: invalid duration "soon": expected a number with a unit, like 500ms, 30s, 5m, 1h30m',
      'rb.yml:11:5: phases/0/stepz: unknown key "stepz". Did you mean "steps"? Allowed here: "id", "name", "hosts", "rolling", "drain", "balancer", "become", "become_user", "steps".',
    ]);
  });

  it('needs a name and phases, and a map at the top', () => {
    expect(errorsOf('description: nothing\n')).toEqual([
      'rb.yml:1:1: name: missing required key "name" (expected a string)',
      'rb.yml:1:1: phases: missing required key "phases" (expected a list with at least one item)',
    ]);
    expect(errorsOf('')).toEqual([
      'rb.yml:1:1: expected a runbook: a map with name, params, phases (found an empty document)',
    ]);
  });

  it('checks param patterns and defaults', () => {
    expect(
      problemsOf(`name: x
params:
  instance: { pattern: '[a-z]+', default: 'x; y' }
  broken: { pattern: '[a-' }
  version: { type: version, default: latest }
  count: { type: number, default: 3, required: true }
phases: [{ hosts: all, steps: [{ test.run: { command: a } }] }]
`),
    ).toEqual([
      'rb.yml:3:43: params/instance/default: the default does not fit: instance must match [a-z]+ (the whole value), got "x; y"',
      'rb.yml:4:22: params/broken/pattern: not a valid regular expression: Invalid regular expression: /[a-/: Unterminated character class',
      'rb.yml:5:38: params/version/default: the default does not fit: version must be a dotted version like 5.0.23654.0, got "latest"',
      'rb.yml:6:38: params/count/required: required has no effect when there is a default; remove one of them',
    ]);
  });
});

describe('loadRunbook: templates and conditions', () => {
  const doc = (steps: string, vars = '  dir: /opt/{{ params.instance }}\n') =>
    `name: x\nparams:\n  instance: { default: cmw }\nsecrets:\n  pw: { from: [{ env: PW }] }\nvars:\n${vars}phases:\n  - id: p\n    hosts: all\n    steps:\n${steps}`;

  it('points at the exact column of a bad reference in plain, quoted and block strings', () => {
    expect(
      errorsOf(
        doc(`      - test.run:
          command: echo {{ parms.instance }}
      - test.run: { command: "echo \\"hi\\" {{ vars.dri }}" }
      - test.run:
          command: |
            set -e
            echo {{ secrets.pww }}
      - test.run: { command: 'it''s {{ host.nmae }}' }
`),
      ),
    ).toEqual([
      'rb.yml:13:28: phases/0/steps/0/test.run/command: in template: unknown name "parms": expressions start with one of "params", "vars", "secrets", "host", "neighbour", "run". Did you mean "params"?',
      'rb.yml:14:46: phases/0/steps/1/test.run/command: in template: unknown var "dri"; declared: "dir". Did you mean "dir"?',
      'rb.yml:18:21: phases/0/steps/2/test.run/command: in template: unknown secret "pww"; declared: "pw". Did you mean "pw"?',
      'rb.yml:19:40: phases/0/steps/3/test.run/command: in template: unknown field host.nmae: expected one of "name", "address", "port", "user", "roles", "vars". Did you mean "name"?',
    ]);
  });

  it('reports template syntax errors where they are', () => {
    expect(
      errorsOf(
        doc(
          '      - test.run: { command: "a {{ params.instance " }\n      - test.run: { command: "{{ params.instance == }}" }\n',
        ),
      ),
    ).toEqual([
      'rb.yml:12:33: phases/0/steps/0/test.run/command: template error: unclosed "{{": expected "}}" after the expression',
      "rb.yml:13:53: phases/0/steps/1/test.run/command: template error: expected a value (a 'string', a number, or a name like params.x), found the end of the expression",
    ]);
  });

  it('reports conditions that do not parse or read what conditions may not', () => {
    expect(
      errorsOf(
        doc(`      - test.run: { command: a }
        when: "params.instance == 'x' && true"
      - test.run: { command: a }
        when: secrets.pw == 'x'
      - test.run: { command: "{{ neighbour.name }} {{ host.date('%Y%m%d') }}" }
        when: host.date('%Y') == '2024'
`),
      ),
    ).toEqual([
      'rb.yml:13:39: phases/0/steps/0/when: condition does not parse: unexpected "&&": use `and` instead of `&&`',
      'rb.yml:15:15: phases/0/steps/1/when: in condition: secrets cannot be used in conditions (they would leak through the plan); use them only inside {{ }} in step params',
      "rb.yml:16:34: phases/0/steps/2/test.run/command: in template: neighbour.* is only known inside a phase's drain (upstream and health.url)",
      "rb.yml:17:15: phases/0/steps/2/when: in condition: host.date() is evaluated by the host's shell when the command runs, so it can only be used inside {{ }} in step params",
    ]);
  });

  it('checks drain templates (neighbour allowed in upstream and health only) and drain conditions', () => {
    expect(
      errorsOf(`name: x
phases:
  - hosts: all
    drain:
      config: "/etc/nginx/{{ neighbour.name }}"
      locations: [/]
      upstream: "http://{{ neighbour.address }}:{{ neighbour.vars.port }}"
      health: { url: "http://{{ neighbour.address }}/", status: [200, 302] }
      skip_when: "'backup' in host.rols"
    rolling: { group_by: "host.vars.service ==" }
    steps: [{ test.run: { command: a } }]
`),
    ).toEqual([
      "rb.yml:5:30: phases/0/drain/config: in template: neighbour.* is only known inside a phase's drain (upstream and health.url)",
      'rb.yml:9:31: phases/0/drain/skip_when: in condition: unknown field host.rols: expected one of "name", "address", "port", "user", "roles", "vars". Did you mean "roles"?',
      "rb.yml:10:47: phases/0/rolling/group_by: condition does not parse: expected a value (a 'string', a number, or a name like params.x), found the end of the expression",
    ]);
  });

  it('finds cycles between vars', () => {
    expect(
      errorsOf(
        doc(
          '      - test.run: { command: a }\n',
          '  a: "{{ vars.b }}"\n  b: "x{{ vars.a }}"\n  c: "{{ vars.c }}"\n',
        ),
      ),
    ).toEqual([
      'rb.yml:7:6: vars/a: vars.a refers to itself: vars.a -> vars.b -> vars.a; break the cycle',
      'rb.yml:9:6: vars/c: vars.c refers to itself: vars.c -> vars.c; break the cycle',
    ]);
  });
});

describe('loadRunbook: YAML mistakes', () => {
  it('suggests quoting when an unquoted {{ }} breaks the YAML, and does not repeat the cascade that follows', () => {
    expect(
      problemsOf(`name: x
phases:
  - hosts: all
    steps:
      - test.stop: { unit: apigateway{{ params.instance }} }
      - test.stop: { unit: a }
      - test.stop: { unit: b }
`),
    ).toEqual([
      'rb.yml:5:38: YAML syntax error: Unexpected flow-map-start at node end. A value holding {{ }} must be quoted, e.g. unit: "apigateway{{ params.instance }}".',
    ]);
  });
});
