import { describe, expect, it } from 'vitest';
import { plainAddresses, plainScenario } from './plain.js';

describe('plain scenario', () => {
  it('numbers hosts node1..N from 127.0.10.10 with role node', () => {
    const s = plainScenario({ hosts: 3 });
    expect(s.name).toBe('plain');
    expect(s.hosts).toEqual([
      { name: 'node1', address: '127.0.10.10', roles: ['node'], vars: {} },
      { name: 'node2', address: '127.0.10.11', roles: ['node'], vars: {} },
      { name: 'node3', address: '127.0.10.12', roles: ['node'], vars: {} },
    ]);
    expect(s.boot(s.hosts[0]!)).toEqual([]);
    expect(s.sharedStorage).toBe(false);
  });

  it('continues in 127.0.11.x after .254, and from another first address', () => {
    const addresses = plainAddresses(250);
    expect(addresses[244]).toBe('127.0.10.254');
    expect(addresses[245]).toBe('127.0.11.10');
    expect(new Set(addresses).size).toBe(250);
    expect(plainAddresses(2, '127.0.255.254')).toEqual(['127.0.255.254', '127.1.0.10']);
    expect(plainScenario({ hosts: 1, firstAddress: '127.0.20.10' }).hosts[0]?.address).toBe('127.0.20.10');
  });

  it('refuses bad counts and non-loopback first addresses', () => {
    expect(() => plainScenario({ hosts: 0 })).toThrow(/from 1 to 1000/);
    expect(() => plainScenario({ hosts: 2.5 })).toThrow(/whole number/);
    expect(() => plainAddresses(1, '10.0.0.10')).toThrow(/loopback/);
    expect(() => plainAddresses(1, '127.0.0.255')).toThrow(/at most 254/);
  });
});
