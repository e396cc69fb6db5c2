/**
 * The lab's hosts: `labUp`, `labStatus`, `labDown`. Each host is an OpenSSH server in its own
 * mount + UTS + PID namespace (`unshare`), on its own loopback address, with private overlays of
 * /etc, /var, /home, /usr/share, /usr/local and /opt over the controller's (nothing is copied), a
 * fresh /root (Debian's dotfiles, not the controller's), private tmpfs /tmp, /run and /mnt, the
 * repo's lab/sim read-only at /opt/lab/sim, its
 * fault knobs at /etc/lab/faults and, for scenarios with shared storage, the lab's shared folder
 * at /mnt/shared. Hosts keep their trees across down/up, like servers keep their disks.
 *
 * nginx: every host gets the unit `nginx` (ExecStart `nginx -g 'daemon off;'`, ExecReload
 * `nginx -s reload`) and no Debian default site (it listens on every address); scenarios add
 * their own sites on the host's address and start nginx in `boot()`, preferably with
 * `systemctl start nginx` so `systemctl reload|status nginx` work as on Debian.
 *
 * Example: `await labUp({ scenario: plainScenario({ hosts: 2 }), labDir: '/tmp/lab' })`, then
 * `ssh -F /tmp/lab/ssh_config node1 hostname`, then `await labDown({ labDir: '/tmp/lab' })`.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, openSync, writeSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LabError, PreflightError, UsageError } from '../src/errors.js';
import { formatDuration } from '../src/shared/duration.js';
import { NGINX_UNIT, renderEtcHosts, renderInitScript, renderSshdConfig } from './host-files.js';
import { renderInventory, renderKnownHosts, renderSshConfig } from './inventory.js';
import {
  ensureSudoPassword,
  LAB_LOGIN,
  LAB_ROOT_PORT,
  prepareSudoLogin,
  type SudoLogin,
} from './sudo-login.js';
import {
  checkLabDir,
  FRESH_TREES,
  type LabLayout,
  labLayout,
  labSourceDir,
  OVERLAY_TREES,
  PRIVATE_TREES,
} from './layout.js';
import {
  childrenOf,
  isAlive,
  namespaceOf,
  type ProcessRef,
  pidsInNamespaces,
  pollUntil,
  processRef,
  signalIfAlive,
} from './procs.js';
import type { LabHostSpec, Scenario, ScenarioContext } from './scenario.js';
import { labSsh, sshBanner } from './ssh.js';

const execFileAsync = promisify(execFile);

/** What `lab.json` records about a lab. Example: `{ version: 1, scenario: 'plain', hosts: [...], sharedStorage: false }`. */
export interface LabState {
  version: 1;
  scenario: string;
  hosts: LabHostSpec[];
  sharedStorage: boolean;
  controller?: { info: Record<string, string>; processes: ProcessRef[] };
  /** Set for a lab whose hosts refuse root on port 22 (see sudo-login.ts). */
  sudoLogin?: SudoLogin;
}

/** What `run.json` records about a running host. Example: `{ init: { pid: 4242, startTime: 99 }, pidNs: 'pid:[4026532301]', ... }`. */
export interface HostRun {
  unshare: ProcessRef;
  init: ProcessRef;
  /** The host's namespaces at boot, for people reading the file; ids are reused once a host stops. */
  pidNs: string;
  mntNs: string;
  bootedAt: string;
}

/** Options of `labUp`. Example: `{ scenario: comindwareScenario, labDir: '.lab/comindware' }`. */
export interface LabUpOptions {
  scenario: Scenario;
  labDir: string;
  /** How long all hosts together may take to accept logins and finish their boot commands. Default 60s. */
  bootTimeoutMs?: number;
  /** Progress lines for people. */
  log?: (line: string) => void;
  /** Hosts refuse root on port 22 and have the sudo login `deploy` (see sudo-login.ts). */
  sudoLogin?: SudoLogin;
}

/** What `labUp` did. Example: `{ inventory: '/tmp/lab/inventory.yml', hosts: [{ name: 'web', booted: true, ... }], ... }`. */
export interface LabUpResult {
  labDir: string;
  scenario: string;
  inventory: string;
  sshConfig: string;
  knownHosts: string;
  key: string;
  /** `booted`: started by this call; false: it was already up and was left alone. */
  hosts: (LabHostSpec & { booted: boolean })[];
  controller?: { info: Record<string, string>; started: boolean };
}

/** The packages the lab needs and what provides them on Debian. */
const PREREQUISITES = [
  { path: '/usr/sbin/sshd', pkg: 'openssh-server' },
  { path: '/usr/bin/ssh', pkg: 'openssh-client' },
  { path: '/usr/bin/ssh-keygen', pkg: 'openssh-client' },
  { path: '/usr/bin/unshare', pkg: 'util-linux' },
  { path: '/usr/bin/flock', pkg: 'util-linux' },
  { path: '/usr/bin/setsid', pkg: 'util-linux' },
  // Hosts share the controller's /usr: file.download runs curl on them; the seed's own command is wget.
  { path: '/usr/bin/curl', pkg: 'curl' },
  { path: '/usr/bin/wget', pkg: 'wget' },
];
const NGINX = { path: '/usr/sbin/nginx', pkg: 'nginx' };

/** Root's dotfiles on a fresh Debian host (base-files), with /etc/skel as the fallback. */
const ROOT_DOTFILES: Record<string, string[]> = {
  '.bashrc': ['/usr/share/base-files/dot.bashrc', '/etc/skel/.bashrc'],
  '.profile': ['/usr/share/base-files/dot.profile', '/etc/skel/.profile'],
};

/** Host names appear in paths, shell words and plan ids. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Refuses to go on unless running as root. Example: requireRoot() throws PreflightError for uid 1000. */
export function requireRoot(uid = process.getuid?.()): void {
  if (uid !== 0) {
    throw new PreflightError(
      `cutover lab needs root: it creates namespaces, mounts overlays and starts sshd (running as uid ${uid ?? '?'})`,
      'Run it as root, e.g. `sudo cutover lab up --scenario comindware`.',
    );
  }
}

/**
 * Checks the programs the lab runs are installed; names the Debian packages otherwise.
 * Example: checkPrerequisites(true) throws when /usr/sbin/nginx is missing.
 */
export function checkPrerequisites(needsNginx: boolean, exists: (p: string) => boolean = existsSync): void {
  const missing = [...PREREQUISITES, ...(needsNginx ? [NGINX] : [])].filter((p) => !exists(p.path));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  throw new PreflightError(
    `cutover lab needs ${missing.map((m) => m.path).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`,
    `Install the Debian package${pkgs.length === 1 ? '' : 's'}: apt-get install -y ${pkgs.join(' ')} (or run: sh scripts/prerequisites.sh lab).`,
  );
}

/** Reads `lab.json`, or undefined when the folder holds no lab. Example: await readLabState(labLayout('/tmp/lab')). */
export async function readLabState(layout: LabLayout): Promise<LabState | undefined> {
  const text = await fs.readFile(layout.state, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as LabState;
  } catch (e) {
    throw new LabError(
      `${layout.state}: not valid JSON (${(e as Error).message})`,
      'Run `cutover lab down` and `lab up` again, or remove the folder.',
    );
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  await fs.rename(`${file}.tmp`, file);
}

/** Reads a host's `run.json`. Example: await readHostRun(layout, 'web'). */
export async function readHostRun(layout: LabLayout, name: string): Promise<HostRun | undefined> {
  const text = await fs.readFile(layout.host(name).run, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as HostRun);
}

/**
 * Every live process of a running host: those in its PID or mount namespace (nsenter'd ones
 * included), read while its init holds them; [] when the host is down. Namespace ids are reused
 * by the kernel once freed, so they are never trusted after the host stopped.
 * Example: hostProcesses(await readHostRun(layout, 'web')).length -> 7.
 */
export function hostProcesses(run: HostRun | undefined): ProcessRef[] {
  if (!run || !isAlive(run.init)) return [];
  const namespaces = [namespaceOf(run.init.pid, 'pid'), namespaceOf(run.init.pid, 'mnt')].filter(
    (ns): ns is string => ns !== undefined,
  );
  const refs = pidsInNamespaces(namespaces)
    .map(processRef)
    .filter((r): r is ProcessRef => r !== undefined);
  // The namespaces must still be the init's: if it died during the scan, the ids may be someone else's.
  return isAlive(run.init) ? refs : [];
}

/** True when the host's init (the one this lab started) still runs. Example: await isHostRunning(layout, 'web'). */
export async function isHostRunning(layout: LabLayout, name: string): Promise<boolean> {
  const run = await readHostRun(layout, name);
  return run !== undefined && isAlive(run.init);
}

function validateHosts(scenario: Scenario): void {
  const names = new Set<string>();
  const addresses = new Set<string>();
  for (const h of scenario.hosts) {
    if (!HOST_NAME.test(h.name))
      throw new UsageError(
        `scenario ${scenario.name}: host name "${h.name}" must be letters, digits, ., _ and -`,
      );
    if (!LOOPBACK_V4.test(h.address) || h.address.split('.').some((n) => Number(n) > 255)) {
      throw new UsageError(
        `scenario ${scenario.name}: host ${h.name}: address "${h.address}" is not a loopback IPv4 address (127.x.y.z)`,
      );
    }
    if (names.has(h.name))
      throw new UsageError(`scenario ${scenario.name}: host name "${h.name}" is used twice`);
    if (addresses.has(h.address))
      throw new UsageError(`scenario ${scenario.name}: address ${h.address} is used twice`);
    names.add(h.name);
    addresses.add(h.address);
  }
}

async function ensureKey(file: string, comment: string): Promise<string> {
  if (!existsSync(file)) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  }
  return (await fs.readFile(`${file}.pub`, 'utf8')).trim();
}

/** Makes an upper dir with the mode and owner of the controller's tree it covers (overlay shows the upper root's). */
async function mkdirLike(dir: string, like: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const st = await fs.stat(like).catch(() => undefined);
  if (st) {
    await fs.chmod(dir, st.mode & 0o7777);
    await fs.chown(dir, st.uid, st.gid);
  }
}

async function writeFileMode(file: string, text: string, mode: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text, { mode });
  await fs.chmod(file, mode);
}

/** Hides a file of the controller's tree inside one host with an overlay whiteout (what `rm` in the host would leave). */
async function whiteout(root: string, hostPath: string): Promise<void> {
  if (!existsSync(hostPath)) return;
  const file = path.join(root, hostPath);
  const st = await fs.lstat(file).catch(() => undefined);
  if (st) return; // already hidden, or the scenario put its own file there
  await fs.mkdir(path.dirname(file), { recursive: true });
  await execFileAsync('mknod', [file, 'c', '0', '0']);
}

/** Writes everything a host needs before its first (or next) boot, then lets the scenario populate it. */
async function prepareHost(
  layout: LabLayout,
  scenario: Scenario,
  host: LabHostSpec,
  ctx: ScenarioContext,
  labPublicKey: string,
  log: (line: string) => void,
): Promise<void> {
  const h = layout.host(host.name);
  await fs.mkdir(h.faults, { recursive: true });
  for (const tree of OVERLAY_TREES) {
    await mkdirLike(path.join(h.root, tree), `/${tree}`);
    await fs.mkdir(path.join(h.work, tree.replace('/', '-')), { recursive: true });
  }
  const root = (p: string) => path.join(h.root, p);
  await mkdirLike(root('root'), '/root');
  for (const [dotfile, sources] of Object.entries(ROOT_DOTFILES)) {
    const source = sources.find((s) => existsSync(s));
    if (source && !existsSync(root(`root/${dotfile}`))) await fs.copyFile(source, root(`root/${dotfile}`));
  }
  await writeFileMode(root('etc/hostname'), `${host.name}\n`, 0o644);
  const currentHosts = await fs
    .readFile(root('etc/hosts'), 'utf8')
    .catch(() => fs.readFile('/etc/hosts', 'utf8').catch(() => ''));
  await writeFileMode(root('etc/hosts'), renderEtcHosts(currentHosts, scenario.hosts), 0o644);
  await writeFileMode(root('etc/ssh/sshd_config'), renderSshdConfig(host), 0o644);
  const keyDir = layout.hostKeyDir(host.name);
  await fs.copyFile(path.join(keyDir, 'ssh_host_ed25519_key'), root('etc/ssh/ssh_host_ed25519_key'));
  await fs.chmod(root('etc/ssh/ssh_host_ed25519_key'), 0o600);
  await fs.copyFile(path.join(keyDir, 'ssh_host_ed25519_key.pub'), root('etc/ssh/ssh_host_ed25519_key.pub'));
  await fs.mkdir(root('root/.ssh'), { recursive: true, mode: 0o700 });
  await fs.chmod(root('root/.ssh'), 0o700);
  await writeFileMode(root('root/.ssh/authorized_keys'), `${labPublicKey}\n`, 0o600);
  await fs.mkdir(root('usr/local/sbin'), { recursive: true });
  await fs.copyFile(path.join(ctx.labSourceDir, 'bin', 'systemctl'), root('usr/local/sbin/systemctl'));
  await fs.chmod(root('usr/local/sbin/systemctl'), 0o755);
  if (existsSync(NGINX.path) && !existsSync(root('etc/systemd/system/nginx.service'))) {
    await writeFileMode(root('etc/systemd/system/nginx.service'), NGINX_UNIT, 0o644);
  }
  await whiteout(h.root, '/etc/nginx/sites-enabled/default');
  await scenario.populate(h.root, host, ctx);
  await warnAboutInvisibleFiles(h.root, host.name, log);
}

/** Files a scenario writes outside the private trees would silently not exist in the host. */
async function warnAboutInvisibleFiles(
  root: string,
  name: string,
  log: (line: string) => void,
): Promise<void> {
  const tops = new Set(PRIVATE_TREES.map((t) => t.split('/')[0]));
  for (const entry of await fs.readdir(root)) {
    if (!tops.has(entry))
      log(
        `warning: ${name}: ${path.join(root, entry)} is outside the host's private trees; the host does not see it`,
      );
  }
  for (const entry of await fs.readdir(path.join(root, 'usr'))) {
    if (entry !== 'share' && entry !== 'local') {
      log(
        `warning: ${name}: ${path.join(root, 'usr', entry)} is outside the host's private trees; the host does not see it`,
      );
    }
  }
}

function initSpecFor(layout: LabLayout, scenario: Scenario, host: LabHostSpec, ctx: ScenarioContext) {
  const h = layout.host(host.name);
  const binds = [
    ...FRESH_TREES.map((tree) => ({ source: path.join(h.root, tree), target: `/${tree}`, readOnly: false })),
    { source: h.faults, target: '/etc/lab/faults', readOnly: false },
  ];
  const simDir = path.join(ctx.labSourceDir, 'sim');
  if (existsSync(simDir)) binds.push({ source: simDir, target: '/opt/lab/sim', readOnly: true });
  // The simulators' one package, found by Node's resolution from /opt/lab/sim wherever the repo lives
  // (a checkout under /tmp, /root or /mnt is hidden inside hosts).
  const yamlDir = path.join(ctx.labSourceDir, '..', 'node_modules', 'yaml');
  if (existsSync(yamlDir))
    binds.push({ source: yamlDir, target: '/opt/lab/node_modules/yaml', readOnly: true });
  if (scenario.sharedStorage) binds.push({ source: ctx.sharedDir, target: '/mnt/shared', readOnly: false });
  return {
    name: host.name,
    address: host.address,
    overlays: OVERLAY_TREES.map((tree) => ({
      tree,
      upper: path.join(h.root, tree),
      work: path.join(h.work, tree.replace('/', '-')),
    })),
    binds,
    bootCommands: scenario.boot(host),
    bootCommandTimeoutSec: 60,
    consolePath: h.console,
  };
}

/** Starts a host's namespaces with its init and records its processes. */
async function bootHost(layout: LabLayout, host: LabHostSpec): Promise<HostRun> {
  const h = layout.host(host.name);
  const consoleFd = openSync(
    h.console,
    fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT,
    0o644,
  );
  writeSync(
    consoleFd,
    `--- ${new Date().toISOString()} cutover lab: booting ${host.name} (${host.address})\n`,
  );
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--uts',
      '--pid',
      '--fork',
      '--mount-proc',
      '--propagation',
      'private',
      '--kill-child',
      '/bin/sh',
      h.init,
    ],
    {
      detached: true,
      stdio: ['ignore', consoleFd, consoleFd],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: '/root',
        LANG: 'C.UTF-8',
      },
    },
  );
  closeSync(consoleFd);
  child.unref();
  let exitCode: number | null = null;
  child.on('exit', (code, signal) => {
    exitCode = code ?? (signal ? 128 : -1);
  });
  const unsharePid = child.pid;
  if (unsharePid === undefined)
    throw new LabError(`${host.name}: could not start unshare`, 'Check that util-linux is installed.');
  const unshare = processRef(unsharePid);
  let initPid: number | undefined;
  await pollUntil(
    () => {
      initPid = childrenOf(unsharePid)[0];
      return initPid !== undefined || exitCode !== null;
    },
    // Seconds, not milliseconds, when a hundred hosts boot at once on two cores.
    30_000,
    5,
  );
  const init = initPid === undefined ? undefined : processRef(initPid);
  const pidNs = initPid === undefined ? undefined : namespaceOf(initPid, 'pid');
  const mntNs = initPid === undefined ? undefined : namespaceOf(initPid, 'mnt');
  if (!unshare || !init || !pidNs || !mntNs) {
    // unshare --kill-child takes its init, and with it the whole PID namespace, along.
    try {
      process.kill(unsharePid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    throw new LabError(
      `${host.name}: the host's namespaces did not start (${
        exitCode !== null
          ? `unshare exited with ${exitCode}`
          : !init
            ? 'unshare gave no init within 30 s'
            : 'its pid and mount namespaces could not be read'
      })\n${await consoleTail(h.console)}`,
      `See ${h.console}.`,
    );
  }
  const run: HostRun = { unshare, init, pidNs, mntNs, bootedAt: new Date().toISOString() };
  await writeJson(h.run, run);
  return run;
}

async function consoleTail(file: string, lines = 15): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `  | ${l}`)
    .join('\n');
}

/**
 * Waits until the host's sshd answers and a real login (lab key, checked host key) sees the
 * boot finished. Fails at once when the host's init dies, with the console's last lines.
 */
async function waitForHost(
  layout: LabLayout,
  host: LabHostSpec,
  run: HostRun,
  deadline: number,
): Promise<void> {
  const h = layout.host(host.name);
  const died = async () =>
    new LabError(
      `${host.name}: the host stopped while booting (its init exited)\n${await consoleTail(h.console)}`,
      `See ${h.console}; fix the cause and run \`cutover lab up\` again.`,
    );
  const bannerSeen = await pollUntil(
    async () => !isAlive(run.init) || (await sshBanner(host.address, 22, 500)) !== undefined,
    deadline - Date.now(),
  );
  if (!isAlive(run.init)) throw await died();
  if (!bannerSeen) {
    throw new LabError(
      `${host.name}: sshd did not answer on ${host.address}:22 within the boot timeout\n${await consoleTail(h.console)}`,
      `See ${h.console}.`,
    );
  }
  let last = '';
  for (;;) {
    const remainingMs = deadline - Date.now();
    // One login waits on the host for the boot commands, instead of logging in again and again.
    const polls = Math.max(1, Math.floor(remainingMs / 50));
    const result = await labSsh(
      layout.sshConfig,
      host.name,
      `i=0; while [ ! -s /run/lab/boot.status ] && [ $i -lt ${polls} ]; do sleep 0.05; i=$((i+1)); done; cat /run/lab/boot.status 2>/dev/null || echo booting`,
      { timeoutMs: Math.max(remainingMs + 2000, 5000) },
    );
    const status = result.stdout.trim();
    if (result.code === 0 && status === 'ready') return;
    if (result.code === 0 && status.startsWith('failed')) {
      throw new LabError(
        `${host.name}: ${status}\n${await consoleTail(h.console)}`,
        `See ${h.console}; fix the scenario and run \`cutover lab up\` again.`,
      );
    }
    last = result.code === 0 ? `still ${status}` : `ssh exited ${result.code}: ${result.stderr.trim()}`;
    if (!isAlive(run.init)) throw await died();
    if (Date.now() >= deadline) {
      throw new LabError(
        `${host.name}: no successful login with boot finished before the boot timeout (last: ${last})\n${await consoleTail(h.console)}`,
        `See ${h.console}. Try: ssh -F ${layout.sshConfig} ${host.name}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Brings a lab up: idempotent (running hosts are left alone, missing ones booted in parallel),
 * keys made once, known_hosts/ssh_config/inventory written, controller services started.
 * Example: `const r = await labUp({ scenario: comindwareScenario, labDir: '.lab/comindware' }); r.inventory`.
 */
export async function labUp(opts: LabUpOptions): Promise<LabUpResult> {
  const log = opts.log ?? (() => {});
  const { scenario } = opts;
  requireRoot();
  checkPrerequisites(scenario.name !== 'plain');
  validateHosts(scenario);
  const dir = checkLabDir(opts.labDir);
  const layout = labLayout(dir);
  await fs.mkdir(dir, { recursive: true });
  const prior = await readLabState(layout);
  if (prior && prior.scenario !== scenario.name) {
    throw new UsageError(
      `${dir} holds the lab of scenario "${prior.scenario}", not "${scenario.name}"`,
      `Use another --dir, or \`cutover lab down --dir ${dir} --purge\` first.`,
    );
  }
  const wanted = new Set(scenario.hosts.map((h) => h.name));
  for (const h of prior?.hosts ?? []) {
    if (!wanted.has(h.name) && (await isHostRunning(layout, h.name))) {
      throw new UsageError(
        `${dir}: host ${h.name} is up but not part of this lab any more`,
        `Run \`cutover lab down --dir ${dir}\` first, then \`lab up\` with the new host list.`,
      );
    }
  }
  const state: LabState = {
    version: 1,
    scenario: scenario.name,
    hosts: scenario.hosts,
    sharedStorage: scenario.sharedStorage,
    ...(prior?.controller ? { controller: prior.controller } : {}),
    ...(opts.sudoLogin ? { sudoLogin: opts.sudoLogin } : {}),
  };
  await writeJson(layout.state, state);

  const labPublicKey = await ensureKey(layout.key, 'cutover-lab');
  const hostKeys = await Promise.all(
    scenario.hosts.map(async (h) => ({
      name: h.name,
      address: h.address,
      publicKey: await ensureKey(
        path.join(layout.hostKeyDir(h.name), 'ssh_host_ed25519_key'),
        `root@${h.name}`,
      ),
    })),
  );
  await fs.writeFile(layout.knownHosts, renderKnownHosts(hostKeys));
  await fs.writeFile(
    layout.sshConfig,
    renderSshConfig(scenario.name, layout, scenario.hosts, opts.sudoLogin ? LAB_ROOT_PORT : 22),
  );
  const sudoPassword = opts.sudoLogin ? await ensureSudoPassword(dir) : undefined;

  const ctx: ScenarioContext = { labDir: dir, sharedDir: layout.shared, labSourceDir: labSourceDir() };
  if (scenario.sharedStorage) await fs.mkdir(layout.shared, { recursive: true });
  const running = new Set<string>();
  for (const h of scenario.hosts) if (await isHostRunning(layout, h.name)) running.add(h.name);
  const toBoot = scenario.hosts.filter((h) => !running.has(h.name));
  await assertAddressesFree(toBoot, dir);

  const started = Date.now();
  const deadline = started + (opts.bootTimeoutMs ?? 60_000);
  if (toBoot.length > 0) log(`booting ${toBoot.map((h) => h.name).join(', ')}`);
  if (running.size > 0) log(`already up: ${[...running].join(', ')}`);
  await Promise.all(
    toBoot.map(async (h) => {
      await prepareHost(layout, scenario, h, ctx, labPublicKey, log);
      if (opts.sudoLogin && sudoPassword !== undefined) {
        const hostRoot = layout.host(h.name).root;
        await prepareSudoLogin(
          (p) => path.join(hostRoot, p),
          h.name,
          opts.sudoLogin,
          sudoPassword,
          labPublicKey,
        );
        await writeFileMode(
          path.join(hostRoot, 'etc/ssh/sshd_config'),
          renderSshdConfig(h, { rootOnlyOnPort: LAB_ROOT_PORT }),
          0o644,
        );
      }
      await writeFileMode(
        layout.host(h.name).init,
        renderInitScript(initSpecFor(layout, scenario, h, ctx)),
        0o755,
      );
    }),
  );
  const runs = new Map<string, HostRun>();
  const boots = await Promise.allSettled(
    toBoot.map(async (h) => runs.set(h.name, await bootHost(layout, h))),
  );
  const failed = boots.find((b): b is PromiseRejectedResult => b.status === 'rejected');
  if (failed) {
    // Never leave half a lab behind: the hosts this call booted go down again.
    await Promise.all(toBoot.map((h) => stopHost(layout, h.name).catch(() => false)));
    throw failed.reason;
  }
  for (const h of scenario.hosts) {
    if (!runs.has(h.name)) {
      const run = await readHostRun(layout, h.name);
      if (run) runs.set(h.name, run);
    }
  }
  await Promise.all(
    scenario.hosts.map(async (h) => {
      await waitForHost(layout, h, runs.get(h.name)!, deadline);
      if (!running.has(h.name)) log(`${h.name} (${h.address}) up in ${formatDuration(Date.now() - started)}`);
    }),
  );

  let controller: LabUpResult['controller'];
  if (scenario.startController) {
    const prev = state.controller;
    if (prev && prev.processes.length > 0 && prev.processes.every(isAlive)) {
      controller = { info: prev.info, started: false };
    } else {
      if (prev) for (const p of prev.processes) signalIfAlive(p, 'SIGTERM');
      const { info, pids } = await scenario.startController(ctx);
      state.controller = {
        info,
        processes: pids.map(processRef).filter((r): r is ProcessRef => r !== undefined),
      };
      await writeJson(layout.state, state);
      controller = { info, started: true };
      log(
        `controller services started: ${Object.entries(info)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
    }
  }
  await fs.writeFile(
    layout.inventory,
    renderInventory(
      scenario.name,
      layout,
      scenario.hosts,
      scenario.inventoryVars?.(ctx) ?? {},
      opts.sudoLogin ? { user: LAB_LOGIN, become: true } : { user: 'root' },
    ),
  );
  return {
    labDir: dir,
    scenario: scenario.name,
    inventory: layout.inventory,
    sshConfig: layout.sshConfig,
    knownHosts: layout.knownHosts,
    key: layout.key,
    hosts: scenario.hosts.map((h) => ({ ...h, booted: !running.has(h.name) })),
    ...(controller ? { controller } : {}),
  };
}

/** Refuses to boot a host whose address already has an sshd (another lab, or a stale one). */
async function assertAddressesFree(hosts: readonly LabHostSpec[], dir: string): Promise<void> {
  const busy = (
    await Promise.all(
      hosts.map(async (h) => ((await sshBanner(h.address, 22, 300)) !== undefined ? h : undefined)),
    )
  ).filter((h): h is LabHostSpec => h !== undefined);
  if (busy.length === 0) return;
  throw new UsageError(
    `cannot boot ${busy.map((h) => `${h.name} on ${h.address}:22`).join(', ')} for ${dir}: an sshd already listens there`,
    'Another lab is probably up on those addresses (`cutover lab status --dir DIR` shows it, `cutover lab down --dir DIR` stops it), ' +
      "or this machine's own sshd listens on every address (0.0.0.0:22): give it ListenAddress lines or stop it while you use the lab.",
  );
}

/** One host in `labStatus`. Example: `{ name: 'web', address: '127.0.10.10', running: true, sshd: 'up', units: ['nginx.service'] }`. */
export interface HostStatus {
  name: string;
  address: string;
  roles: string[];
  /** The host's init runs. */
  running: boolean;
  sshd: 'up' | 'down';
  /** Units active (or failed, marked `name (failed)`) in the host; undefined when it could not be asked. */
  units?: string[];
  unitsError?: string;
}

/** The lab as `lab status` shows it. Example: `{ scenario: 'comindware', hosts: [...], controller: { info, running: 1, total: 1 } }`. */
export interface LabStatus {
  labDir: string;
  scenario: string;
  hosts: HostStatus[];
  controller?: { info: Record<string, string>; running: number; total: number };
}

/**
 * What runs in a lab: per host its address, whether sshd answers, and which units are active.
 * Example: `(await labStatus({ labDir: '.lab/comindware' })).hosts[0].sshd` -> 'up'.
 */
export async function labStatus(opts: { labDir: string }): Promise<LabStatus> {
  const layout = labLayout(opts.labDir);
  const state = await readLabState(layout);
  if (!state) {
    throw new UsageError(
      `${layout.dir} holds no lab (no lab.json)`,
      'Start one with `cutover lab up --scenario NAME --dir DIR`.',
    );
  }
  const hosts = await Promise.all(
    state.hosts.map(async (h): Promise<HostStatus> => {
      const running = await isHostRunning(layout, h.name);
      const sshd = running && (await sshBanner(h.address, 22, 1000)) !== undefined ? 'up' : 'down';
      const status: HostStatus = { name: h.name, address: h.address, roles: h.roles, running, sshd };
      if (sshd === 'up') {
        const r = await labSsh(layout.sshConfig, h.name, 'systemctl list-units --no-legend', {
          timeoutMs: 15_000,
        });
        if (r.code === 0) {
          status.units = r.stdout
            .split('\n')
            .map((line) => line.trim().split(/\s+/))
            .filter((f) => f.length >= 3 && f[0])
            .map((f) => (f[2] === 'active' ? f[0]! : `${f[0]} (${f[2]})`));
        } else {
          status.unitsError = r.stderr.trim() || `ssh exited ${r.code}`;
        }
      }
      return status;
    }),
  );
  return {
    labDir: layout.dir,
    scenario: state.scenario,
    hosts,
    ...(state.controller
      ? {
          controller: {
            info: state.controller.info,
            running: state.controller.processes.filter(isAlive).length,
            total: state.controller.processes.length,
          },
        }
      : {}),
  };
}

/** What `labDown` stopped. Example: `{ hosts: ['web', 'backup'], controllerProcesses: 1, purged: false }`. */
export interface LabDownResult {
  labDir: string;
  hosts: string[];
  controllerProcesses: number;
  purged: boolean;
}

/**
 * Powers every host off (SIGKILL to its init ends the PID namespace; its mounts go with its mount
 * namespace), stops controller services, and checks nothing of the lab is left running.
 * `purge` also deletes the hosts' trees, the shared folder and scenario files (keys and known_hosts are kept).
 * Example: `await labDown({ labDir: '.lab/comindware' })`.
 */
/** Kills a booted host's processes and forgets its run; true if any of them was alive. */
async function stopHost(layout: LabLayout, name: string): Promise<boolean> {
  const run = await readHostRun(layout, name);
  if (!run) return false;
  const wasAlive = isAlive(run.init) || isAlive(run.unshare);
  // Processes that only entered the host's mount namespace (nsenter) would keep its mounts:
  // find them while init lives (namespace ids are only trustworthy while they are held).
  const members = hostProcesses(run);
  const gone = await pollUntil(() => {
    for (const ref of [run.init, run.unshare, ...members]) signalIfAlive(ref, 'SIGKILL');
    // When a PID namespace's init dies the kernel kills the rest of it, so these suffice.
    return [run.init, run.unshare, ...members].every((ref) => !isAlive(ref));
  }, 10_000);
  if (!gone) {
    const left = [run.init, run.unshare, ...members].filter(isAlive).map((r) => r.pid);
    throw new LabError(
      `${name}: processes of the host are still running 10s after SIGKILL: ${left.join(', ')}`,
      'Look at them with `ps -p PID -o pid,stat,cmd`; a process stuck in the kernel (state D) ends when its I/O does.',
    );
  }
  await fs.rm(layout.host(name).run, { force: true });
  return wasAlive;
}

export async function labDown(opts: { labDir: string; purge?: boolean }): Promise<LabDownResult> {
  requireRoot();
  const layout = labLayout(opts.labDir);
  const state = await readLabState(layout);
  const names = new Set((state?.hosts ?? []).map((h) => h.name));
  for (const entry of await fs.readdir(layout.hostsDir).catch(() => [] as string[])) {
    if (existsSync(layout.host(entry).run)) names.add(entry);
  }
  const stopped: string[] = [];
  await Promise.all(
    [...names].map(async (name) => {
      if (await stopHost(layout, name)) stopped.push(name);
    }),
  );
  let controllerProcesses = 0;
  if (state?.controller) {
    const alive = state.controller.processes.filter(isAlive);
    controllerProcesses = alive.length;
    for (const p of alive) signalIfAlive(p, 'SIGTERM');
    const ended = await pollUntil(() => alive.every((p) => !isAlive(p)), 5000);
    if (!ended) for (const p of alive) signalIfAlive(p, 'SIGKILL');
    await pollUntil(() => alive.every((p) => !isAlive(p)), 5000);
    delete state.controller;
    await writeJson(layout.state, state);
  }
  if (opts.purge) {
    // Everything but the keys: known_hosts stays valid for the next `lab up`.
    const keep = new Set([
      path.basename(layout.key),
      `${path.basename(layout.key)}.pub`,
      'host_keys',
      'known_hosts',
      'ssh_config',
    ]);
    for (const entry of await fs.readdir(layout.dir).catch(() => [] as string[])) {
      if (!keep.has(entry)) await fs.rm(path.join(layout.dir, entry), { recursive: true, force: true });
    }
  }
  return { labDir: layout.dir, hosts: stopped.sort(), controllerProcesses, purged: opts.purge === true };
}
