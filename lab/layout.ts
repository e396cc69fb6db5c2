/**
 * Where a lab keeps its state on the controller, in one place. A lab folder (`labDir`) holds:
 *
 *   lab.json                    what is up: scenario, hosts, controller services
 *   id_ed25519(.pub)            the lab's login key (made once)
 *   known_hosts, ssh_config     for `ssh -F <labDir>/ssh_config <host>`; host keys are checked
 *   inventory.yml               cutover's inventory of the lab
 *   host_keys/<host>/           each host's ssh host key (made once, so known_hosts stays valid)
 *   shared/                     mounted at /mnt/shared on hosts of scenarios with shared storage
 *   hosts/<host>/root/          the host's private trees (overlay upper dirs, and /root), laid out like `/`
 *   hosts/<host>/work/          overlay work dirs
 *   hosts/<host>/faults/        the host's /etc/lab/faults (fault knobs)
 *   hosts/<host>/init.sh        PID 1 of the host's namespaces
 *   hosts/<host>/console.log    what init, sshd and boot commands printed
 *   hosts/<host>/run.json       the running host's processes and namespaces
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/errors.js';

/**
 * Trees every host gets as a private overlay on the controller's own (copy-on-write, so a host
 * boots without copying anything). /usr/local is private so the systemctl stand-in is on PATH.
 */
export const OVERLAY_TREES = ['etc', 'var', 'home', 'usr/share', 'usr/local', 'opt'] as const;

/**
 * Trees a host gets fresh, not over the controller's: root's home starts from Debian's defaults,
 * so hosts neither see the controller's dotfiles (tokens, caches) nor run its slow ~/.bashrc.
 */
export const FRESH_TREES = ['root'] as const;

/** Every private tree of a host; its files live in `hosts/<host>/root/<tree>` on the controller. */
export const PRIVATE_TREES = [...OVERLAY_TREES, ...FRESH_TREES] as const;

/** Paths of one lab folder. Example: `labLayout('/tmp/lab').host('web').root` -> '/tmp/lab/hosts/web/root'. */
export function labLayout(labDir: string) {
  const dir = path.resolve(labDir);
  const join = (...parts: string[]) => path.join(dir, ...parts);
  return {
    dir,
    state: join('lab.json'),
    key: join('id_ed25519'),
    knownHosts: join('known_hosts'),
    sshConfig: join('ssh_config'),
    inventory: join('inventory.yml'),
    shared: join('shared'),
    hostsDir: join('hosts'),
    hostKeyDir: (name: string) => join('host_keys', name),
    host: (name: string) => ({
      dir: join('hosts', name),
      root: join('hosts', name, 'root'),
      work: join('hosts', name, 'work'),
      faults: join('hosts', name, 'faults'),
      init: join('hosts', name, 'init.sh'),
      console: join('hosts', name, 'console.log'),
      run: join('hosts', name, 'run.json'),
    }),
  };
}

/** The layout of one lab folder. */
export type LabLayout = ReturnType<typeof labLayout>;

/** Mount option syntax cannot carry these in overlay paths. */
const UNSAFE_PATH = /[,:\\\n]/;

/**
 * Checks a lab folder can hold host trees: overlay upper dirs may not sit inside a tree the hosts
 * overlay (the kernel refuses overlapping layers), nor under /run (mounted first in a host).
 * Example: checkLabDir('/srv/lab') -> '/srv/lab'.
 */
export function checkLabDir(labDir: string): string {
  const dir = path.resolve(labDir);
  if (UNSAFE_PATH.test(dir)) {
    throw new UsageError(
      `lab folder ${dir}: the path contains a comma, colon, backslash or newline, which overlay mount options cannot carry`,
      'Choose another --dir, e.g. /srv/cutover-lab/comindware.',
    );
  }
  for (const tree of [...OVERLAY_TREES, 'run']) {
    const top = `/${tree}`;
    if (dir === top || dir.startsWith(`${top}/`)) {
      throw new UsageError(
        `lab folder ${dir} is inside ${top}, which every lab host mounts privately over the controller's ${top}`,
        `Use a --dir outside ${OVERLAY_TREES.map((t) => `/${t}`).join(', ')} and /run, e.g. --dir /srv/cutover-lab/comindware or /tmp/cutover-lab.`,
      );
    }
  }
  return dir;
}

/**
 * The repo's (or installed package's) `lab/` folder: holds bin/systemctl and sim/. Found by
 * walking up from this module, so it works from the sources and from the bundled dist/cli.js.
 * Example: labSourceDir() -> '/work/main/lab'.
 */
export function labSourceDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (path.basename(dir) === 'lab' && existsSync(path.join(dir, 'bin', 'systemctl'))) return dir;
    if (existsSync(path.join(dir, 'lab', 'bin', 'systemctl'))) return path.join(dir, 'lab');
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(
        'cannot find the lab/ folder (with bin/systemctl) above this module: is the package complete?',
      );
    dir = parent;
  }
}
