/**
 * The plain scenario: N hosts with only sshd (and the systemctl stand-in), for benchmarks and
 * for testing the lab itself. Hosts `node1..nodeN`, role `node`, addresses from 127.0.10.10
 * upward (…254, then 127.0.11.10 upward). Example: `cutover lab up --scenario plain --hosts 5`.
 */
import type { LabHostSpec, Scenario } from '../scenario.js';

/** Options of the plain scenario. Example: `{ hosts: 3, firstAddress: '127.0.20.10' }`. */
export interface PlainOptions {
  /** Number of hosts (1–1000). Default 2. */
  hosts?: number;
  /** Address of node1; another base lets two plain labs run side by side. Default 127.0.10.10. */
  firstAddress?: string;
}

/** The lowest last octet used in a /24, so .1–.9 stay free for controller services. */
const FIRST_OCTET = 10;

/**
 * Addresses for `count` hosts from `first` upward, skipping .255 and .0–.9 of each next /24.
 * Example: plainAddresses(2, '127.0.10.254') -> ['127.0.10.254', '127.0.11.10'].
 */
export function plainAddresses(count: number, first = '127.0.10.10'): string[] {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(first);
  const octets = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (!m || octets.some((o) => o > 255) || (octets[2] ?? 0) > 254) {
    throw new Error(
      `invalid first address "${first}": expected a loopback address 127.x.y.z with z at most 254`,
    );
  }
  let [b, c, d] = octets as [number, number, number];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (b > 255) throw new Error(`${count} hosts from ${first} do not fit in 127.0.0.0/8`);
    out.push(`127.${b}.${c}.${d}`);
    d += 1;
    if (d > 254) {
      d = FIRST_OCTET;
      c += 1;
      if (c > 255) {
        c = 0;
        b += 1;
      }
    }
  }
  return out;
}

/**
 * A plain lab of `hosts` hosts. Example: plainScenario({ hosts: 2 }).hosts[1] ->
 * `{ name: 'node2', address: '127.0.10.11', roles: ['node'], vars: {} }`.
 */
export function plainScenario(opts: PlainOptions = {}): Scenario {
  const count = opts.hosts ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw new Error(`invalid host count ${count}: expected a whole number from 1 to 1000`);
  }
  const hosts: LabHostSpec[] = plainAddresses(count, opts.firstAddress).map((address, i) => ({
    name: `node${i + 1}`,
    address,
    roles: ['node'],
    vars: {},
  }));
  return {
    name: 'plain',
    hosts,
    sharedStorage: false,
    populate: async () => {},
    boot: () => [],
  };
}
