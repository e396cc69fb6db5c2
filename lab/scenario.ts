/**
 * The contract between the lab's host machinery (lab/hosts, `cutover lab up`) and the
 * application simulators of each seed (lab/scenarios/*). A scenario says which hosts exist,
 * fills each host's private trees before it boots, and says what to start inside it.
 */

/** One lab host. Example: `{ name: 'web', address: '127.0.10.10', roles: ['web'], vars: { instance: 'cmw' } }`. */
export interface LabHostSpec {
  name: string;
  address: string;
  roles: string[];
  vars: Record<string, unknown>;
}

export interface ScenarioContext {
  /** The lab's state folder on the controller (hosts/, shared/, keys, inventory). */
  labDir: string;
  /** Folder mounted at `/mnt/shared` on every host that sets `sharedStorage`. */
  sharedDir: string;
  /** Absolute path of the repo's `lab/` folder (the simulators live in lab/sim). */
  labSourceDir: string;
}

export interface Scenario {
  name: 'comindware' | 'ecsc' | 'plain';
  hosts: LabHostSpec[];
  /** Mount `ScenarioContext.sharedDir` at /mnt/shared on every host. */
  sharedStorage: boolean;
  /**
   * Writes scenario files into a host's private root before it boots: `root` mirrors `/`
   * (e.g. `${root}/etc/nginx/sites-enabled/x`, `${root}/home/ecsc/...`). Idempotent.
   */
  populate(root: string, host: LabHostSpec, ctx: ScenarioContext): Promise<void>;
  /** Shell commands run inside the host, as root, after sshd is up (e.g. `nginx`, `systemctl start x`). */
  boot(host: LabHostSpec): string[];
  /** Controller-side services (artifact server) and files (artifacts); returns what to stop on `lab down`. */
  startController?(ctx: ScenarioContext): Promise<{ info: Record<string, string>; pids: number[] }>;
  /** Extra inventory vars for the whole lab (e.g. artifact URL, versions). */
  inventoryVars?(ctx: ScenarioContext): Record<string, unknown>;
}
