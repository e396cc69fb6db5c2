/** One host of the inventory. Example: `{ name: 'web', address: '10.0.0.10', port: 22, user: 'root', roles: ['web'], vars: {} }`. */
export interface Host {
  name: string;
  address: string;
  port: number;
  user: string;
  roles: string[];
  vars: Record<string, unknown>;
  /** Extra `ssh -o` options (IdentityFile, UserKnownHostsFile, ProxyJump...). */
  sshOptions: Record<string, string>;
  /** `ssh` (default) or `local` (the controller itself). */
  transport: 'ssh' | 'local';
}

export interface Inventory {
  file: string;
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
