import { describe, expect, it } from 'vitest';
import type { InputError } from '../errors.js';
import { planFixture } from '../testing/plan-fixture.js';
import { describeAction } from '../plan/render.js';
import type { StepContext } from './kind.js';
import { balancerCommands, haproxyCheck, haproxyDrain, nginxUpstream } from './balancer.js';
import { setUpstreamServerDown } from './edits/nginx.js';

const ctx: StepContext = {
  host: { name: 'app-1', address: '10.0.0.11', roles: ['app'], vars: {} },
  runDir: '/var/tmp/cutover/r1',
  controllerDir: '/srv/rb',
  stepId: 'up_drain_app-1',
  localSha256: {},
};
const params = haproxyDrain.params.parse({
  balancers: ['lb-a', 'lb-b'],
  socket: '/run/haproxy/admin.sock',
  backend: 'app',
  server: 'app-1',
});

describe('haproxy.drain (pure planner)', () => {
  it('on every balancer, in order: check and drain, wait for 0 sessions, maint', () => {
    const actions = haproxyDrain.plan(params, ctx).actions;
    expect(actions.map((a) => `${a.type} on ${'on' in a ? a.on : '-'}`)).toEqual([
      'exec on lb-a',
      'wait on lb-a',
      'exec on lb-a',
      'exec on lb-b',
      'wait on lb-b',
      'exec on lb-b',
    ]);
    const [check, wait, maint] = actions.map((a) => describeAction(a));
    expect(check).toMatch(/^on lb-a: \$ command -v socat/);
    expect(check).toContain('b=app; v=app-1');
    expect(check).toContain('no other server of backend $b is UP');
    expect(check).toContain('echo was_lb-a="$was"');
    expect(check).toContain(`printf 'set server %s/%s state drain' "$b" "$v"`);
    expect(check).toContain('socat -t 5 stdio unix-connect:/run/haproxy/admin.sock');
    expect(wait).toMatch(/^on lb-a: wait until \$ .*\{ exit \(\$5 != 0\) \}/s);
    expect(maint).toContain(`printf 'set server %s/%s state maint' "$b" "$v"`);
  });

  it('puts the server back (ready, then UP) on each balancer, newest first, but leaves one it found out of rotation', () => {
    const undo = haproxyDrain.compensate?.(params, { 'was_lb-a': 'UP', 'was_lb-b': 'MAINT' }, ctx) ?? [];
    expect(undo.map((a) => describeAction(a).split('\n')[0]?.slice(0, 12))).toEqual([
      'on lb-a: $ c',
      'on lb-a: wai',
    ]);
    expect(describeAction(undo[0] as (typeof undo)[0])).toContain(`state ready`);
    expect(describeAction(undo[1] as (typeof undo)[0])).toContain('exit ($18 !~ /^UP/)');
    expect(haproxyDrain.compensate?.(params, {}, ctx)).toEqual([]);
  });

  it('haproxy.check is read-only and only looks', () => {
    expect(haproxyCheck.readOnly).toBe(true);
    const text = haproxyCheck
      .plan(params, ctx)
      .actions.map((a) => describeAction(a))
      .join('\n');
    expect(text).not.toContain('set server');
    expect(text).toContain('HAProxy has no server $v in backend $b');
  });
});

describe('balancer.commands (pure planner)', () => {
  it("runs the operator's commands on each balancer, or on the host itself without balancers", () => {
    const p = balancerCommands.params.parse({
      balancers: [],
      drain: 'weight 0',
      drained: 'test $(conns) = 0',
      undrain: 'weight 100',
      ready: 'healthy',
    });
    expect(balancerCommands.plan(p, ctx).actions.map((a) => describeAction(a))).toEqual([
      '$ weight 0\necho drained_self=1',
      'wait until $ test $(conns) = 0   (the host gets no more traffic)',
    ]);
    expect(balancerCommands.compensate?.(p, {}, ctx)).toEqual([]);
    expect(
      balancerCommands.compensate?.(p, { drained_self: '1' }, ctx).map((a) => describeAction(a)),
    ).toEqual(['$ weight 100', 'wait until $ healthy   (the host takes traffic again)']);
    const on = balancerCommands.params.parse({ ...p, balancers: ['f5'] });
    expect(balancerCommands.plan(on, ctx).actions.map((a) => describeAction(a))[0]).toBe(
      'on f5: $ weight 0\necho drained_f5=1',
    );
  });
});

describe('nginx upstream edit (pure, byte-exact)', () => {
  const conf = [
    '# balancer',
    'upstream app {',
    '    server 10.0.0.11:8080 max_fails=2;  # first',
    '    server 10.0.0.12:8080;',
    '}',
    'upstream other { server 10.0.0.11:8080; }',
    'server { listen 80; location / { proxy_pass http://app; } }',
    '',
  ].join('\n');

  it('marks one server down in its upstream only, and takes it back byte-identical', () => {
    const down = setUpstreamServerDown(conf, 'app', '10.0.0.11:8080', true);
    expect(down).toBe(conf.replace('max_fails=2;', 'max_fails=2 down;'));
    expect(setUpstreamServerDown(down, 'app', '10.0.0.11:8080', true)).toBe(down);
    expect(setUpstreamServerDown(down, 'app', '10.0.0.11:8080', false)).toBe(conf);
    expect(setUpstreamServerDown(conf, 'other', '10.0.0.11:8080', true)).toBe(
      conf.replace(
        'upstream other { server 10.0.0.11:8080; }',
        'upstream other { server 10.0.0.11:8080 down; }',
      ),
    );
  });

  it('refuses an unknown upstream or server, naming what the file has', () => {
    expect(() => setUpstreamServerDown(conf, 'ap', '10.0.0.11:8080', true)).toThrow(
      /no upstream ap in the file; its upstreams: app, other/,
    );
    expect(() => setUpstreamServerDown(conf, 'app', '10.0.0.13:8080', true)).toThrow(
      /not in the upstream; its servers: 10\.0\.0\.11:8080, 10\.0\.0\.12:8080/,
    );
  });

  it('nginx.upstream edits on each balancer with its own backup, and undoes each from its own', () => {
    const p = nginxUpstream.params.parse({
      balancers: ['lb-a', 'lb-b'],
      config: '/etc/nginx/conf.d/lb.conf',
      upstream: 'app',
      server: '10.0.0.11:8080',
    });
    const actions = nginxUpstream.plan(p, ctx).actions.map((a) => describeAction(a).split('\n')[0]);
    expect(actions[0]).toBe(
      'on lb-a: edit /etc/nginx/conf.d/lb.conf: mark server 10.0.0.11:8080 of upstream app down; original kept at /var/tmp/cutover/r1/up_drain_app-1/lb-a.original; then $ nginx -t (restore on failure)',
    );
    expect(actions.filter((a) => a?.startsWith('on lb-b: edit'))).toHaveLength(1);
    expect(nginxUpstream.compensate?.(p, {}, ctx)).toEqual([]);
    const undo = nginxUpstream.compensate?.(p, { 'backup_lb-b': '/b', 'path_lb-b': '/etc/x' }, ctx) ?? [];
    expect(undo.map((a) => describeAction(a).split(';')[0])).toEqual([
      'on lb-b: edit /etc/x: unmark server 10.0.0.11:8080 of upstream app down',
      expect.stringMatching(/^on lb-b: \$ nginx_workers/),
    ]);
  });
});

describe('balancer: in a phase (compile and validate, before anything runs)', () => {
  const INV = `hosts:
  a: { address: 10.9.0.1, roles: [app] }
  b: { address: 10.9.0.2, roles: [app] }
  lb: { address: 10.9.0.3, roles: [lb] }
`;
  const runbook = (balancer: string) => `name: b
phases:
  - id: up
    hosts: { roles: [app] }
    balancer:
${balancer}
    steps:
      - shell.run: { command: "true" }
`;
  const refusal = (balancer: string, inventory = INV) =>
    planFixture(runbook(balancer), inventory).then(
      () => 'accepted',
      (e: InputError) => e.problems.map((p) => p.message).join('\n'),
    );

  it('plans a drain per host run on the balancers, adds them to the plan (no runbook preflight), and checks them in preflight', async () => {
    const fx = await planFixture(
      runbook('      hosts: { roles: [lb] }\n      haproxy: { backend: app }'),
      INV,
    );
    expect(fx.plan.hosts.map((h) => h.name)).toEqual(['a', 'b', 'lb']);
    expect(fx.plan.phases[0]?.drains.a).toMatchObject({ kind: 'haproxy.drain', role: 'drain', host: 'a' });
    expect(fx.plan.preflight.map((s) => `${s.kind}@${s.host}`)).toEqual([
      'haproxy.check@a',
      'haproxy.check@b',
    ]);
  });

  it('refuses a value that would run as code in a command, at validation (not when the drain runs)', async () => {
    expect(
      await refusal(
        '      hosts: { roles: [lb] }\n      commands: { drain: "echo {{ host.name }} | socat stdio unix-connect:/x", drained: "true", undrain: "true" }',
      ),
    ).toMatch(/a \{\{ \}\} value reaches the stdin of socat/);
  });

  it('refuses two providers, a balancer that is also upgraded, and no balancer at all', async () => {
    expect(
      await refusal(
        '      hosts: { roles: [lb] }\n      haproxy: { backend: app }\n      commands: { drain: a, drained: b, undrain: c }',
      ),
    ).toMatch(/expected exactly one balancer provider/);
    expect(await refusal('      hosts: { roles: [app] }\n      haproxy: { backend: app }')).toMatch(
      /is a balancer and a host of this phase/,
    );
    expect(
      await refusal(
        '      hosts: { roles: [lb] }\n      haproxy: { backend: app }',
        INV.replace(/ {2}lb:.*\n/, ''),
      ),
    ).toMatch(/no host of inventory|selects no host of the inventory/);
  });
});
