import type { Loc } from '../source/loc.js';

/** Privilege escalation on a host (Ansible `ansible_become*`). Example: `{ user: 'root', method: 'sudo' }`. */
export interface Become {
  user: string;
  method: 'sudo';
}

/**
 * One host of the inventory. Port and user are set only when the inventory sets them: unset,
 * ssh decides (`~/.ssh/config`, then its defaults). Example:
 * `{ name: 'web', address: '10.0.0.10', roles: ['web'], vars: {}, sshOptions: {}, transport: 'ssh' }`.
 */
export interface Host {
  name: string;
  address: string;
  port?: number;
  user?: string;
  roles: string[];
  vars: Record<string, unknown>;
  /** Extra `ssh -o` options (IdentityFile, UserKnownHostsFile, ProxyJump...). */
  sshOptions: Record<string, string>;
  /** `ssh` (default) or `local` (the controller itself). */
  transport: 'ssh' | 'local';
  /** Run the host's shell under sudo (from `ansible_become`); the engine honours it. */
  become?: Become;
  /** Where the host is declared (for errors found after loading, e.g. by `ssh -G`). */
  loc?: Loc;
}

export interface Inventory {
  /** The first inventory source (a file or folder), absolute. */
  file: string;
  /** Every inventory source, in `-i` order (Ansible merges several). */
  files?: string[];
  /** A stable name for the cluster; the lock and the journal are per cluster. */
  cluster: string;
  hosts: Host[];
}

/** Which hosts a phase runs on, in order. Example: `{ roles: ['backup', 'integration', 'web'] }` (role order = run order). */
export interface HostSelector {
  roles?: string[];
  hosts?: string[];
  /** Optional extra filter expression, e.g. `host.vars.service == 'ecsc'`. */
  where?: string;
}
