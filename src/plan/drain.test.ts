import { describe, expect, it } from 'vitest';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { drainOf, isDrainStep, routeStep } from './drain.js';
import { allSteps } from './types.js';

const RUNBOOK = `
name: drain
phases:
  - id: up
    name: upgrade
    hosts: { roles: [app] }
    drain:
      config: /etc/nginx/{{ host.name }}.conf
      locations: [/, /async]
      upstream: "http://{{ neighbour.address }}:8080"
      neighbours: { roles: [app] }
      skip_when: host.name == 'c'
    steps:
      - id: work
        shell.run: { command: "upgrade" }
`;

describe('the drain as a planned step', () => {
  it('plans one drain step per drained host, typed by its role, outside the host’s own steps', async () => {
    const { plan } = await planFixture(RUNBOOK, fakeInventory(['a', 'b', 'c']));
    const phase = plan.phases[0];
    if (!phase) throw new Error('no phase');
    expect(Object.keys(phase.drains)).toEqual(['a', 'b']);
    expect(drainOf(phase, 'c')).toBeUndefined();
    const a = drainOf(phase, 'a');
    expect(a).toMatchObject({
      id: 'up/drain@a',
      host: 'a',
      phase: 'up',
      kind: 'nginx.route',
      role: 'drain',
      drain: {
        config: '/etc/nginx/a.conf',
        locations: ['/', '/async'],
        upstream: 'http://{{ neighbour.address }}:8080',
      },
    });
    expect(a && isDrainStep(a)).toBe(true);
    expect(allSteps(plan).some(isDrainStep)).toBe(false);
  });

  it('becomes an nginx.route to the chosen neighbour’s upstream, keeping its id and role', async () => {
    const { plan } = await planFixture(RUNBOOK, fakeInventory(['a', 'b', 'c']));
    const drain = plan.phases[0]?.drains.a;
    if (!drain) throw new Error('no drain');
    const step = routeStep(drain, 'http://10.9.0.2:8080');
    expect(step).toMatchObject({
      id: 'up/drain@a',
      role: 'drain',
      name: 'route /, /async to http://10.9.0.2:8080',
    });
    expect(step.params).toMatchObject({ config: '/etc/nginx/a.conf', upstream: 'http://10.9.0.2:8080' });
  });
});
