/**
 * What ssh will really use for each host, before anything connects: `ssh -G` with the same
 * arguments the transport passes (the operator's ssh config applies: `-F FILE` when given, else
 * ssh's own `~/.ssh/config` then `/etc/ssh/ssh_config`). Each of user, hostname and port is
 * attributed to where it came from — the inventory, the ssh config, or ssh's defaults (the
 * command line over ssh's built-in defaults, see sshDefaults). One `ssh -G` per host and process,
 * shared with the transport (sshDump). `cutover plan` shows the result per host; a host ssh cannot
 * resolve is an input error naming the host.
 *
 * Precedence, as ssh applies it: the inventory's port/user/ssh_options (command line: -p, -l,
 * -o) > the first matching value in the ssh config (Host/Match blocks, top to bottom) > ssh's
 * defaults (port 22, the local login name, the address itself as HostName).
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { type Command, lines, sh } from '../shell/command.js';
import type { InputProblem } from '../errors.js';
import type { Host } from '../inventory/model.js';
import type { HostAddress } from './transport.js';

/**
 * The ssh arguments a host's inventory settings give: `-p`, `-l` and `-o` only for what the
 * inventory sets, so the ssh config decides the rest. Example: sshArgsFor({ port: 2222, sshOptions: {} }) -> ['-p', '2222'].
 */
export function sshArgsFor(h: Pick<HostAddress, 'port' | 'user' | 'sshOptions'>): string[] {
  const args: string[] = [];
  if (h.port !== undefined) args.push('-p', String(h.port));
  if (h.user !== undefined) args.push('-l', h.user);
  for (const [k, v] of Object.entries(h.sshOptions ?? {})) args.push('-o', `${k}=${v}`);
  return args;
}

/** Where a resolved value came from. */
export type ConnectionSource = 'inventory' | 'ssh config' | 'ssh default';

/** What ssh will connect to for one host. Example: `{ user: 'deploy', hostname: '10.0.0.10', port: 2222, via: 'bastion', from: {...} }`. */
export interface ResolvedConnection {
  user: string;
  hostname: string;
  port: number;
  /** ProxyJump or ProxyCommand, when set. */
  via?: string;
  identityFiles: string[];
  from: { user: ConnectionSource; hostname: ConnectionSource; port: ConnectionSource };
  /** The ssh config that applied: the -F file, or `~/.ssh/config`. */
  config: string;
}

/** Options of resolveConnections. Example: `{ configFile: './ssh_config' }`. */
export interface ResolveOptions {
  /** `-F` for ssh: the operator's ssh config file. Default: ssh's own (~/.ssh/config). */
  configFile?: string;
  sshBinary?: string;
  /** A name ssh would connect to directly that does not resolve: 'error' (apply) or 'warning' (plan, validate). */
  unresolvable?: 'error' | 'warning';
}

/** What `ssh -G` printed for one argv. */
export interface SshDump {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `ssh -G` results of this process, by argv: each host is resolved once, whoever asks (plan,
 * validate, apply's check, the transport's master), instead of a process per question.
 */
const dumps = new Map<string, Promise<SshDump>>();

/**
 * `ssh -G ARGS` once per process for the same ssh and argv; a run that cannot start ssh is not
 * kept (the next call tries again). Example: `await sshDump('ssh', resolveArgs(host))`.
 */
export function sshDump(ssh: string, args: readonly string[]): Promise<SshDump> {
  const key = JSON.stringify([ssh, ...args]);
  let dump = dumps.get(key);
  if (!dump) {
    dump = run(ssh, ['-G', ...args]);
    dump.catch(() => dumps.delete(key));
    dumps.set(key, dump);
  }
  return dump;
}

/** `ssh -G` jobs one controller shell runs at once (then the next group). */
const DUMPS_AT_ONCE = 32;

/**
 * Resolves many argvs into the cache with one process: a controller `sh` runs the `ssh -G`s side
 * by side into files. Node's spawn holds its thread until the child has exec'd (tens of ms each on
 * a busy machine, ~45 % of a 30-host run's main thread in a profile); the shell's forks do not.
 * An argv the batch cannot answer (ssh could not run: exit 126/127) is spawned alone, which reports why.
 */
export async function prefetchDumps(ssh: string, argvs: readonly (readonly string[])[]): Promise<void> {
  const fresh = [...new Map(argvs.map((a) => [JSON.stringify([ssh, ...a]), a])).entries()].filter(
    ([key]) => !dumps.has(key),
  );
  if (fresh.length < 2) return;
  // In the cache at once, so a resolution asked meanwhile waits for this batch instead of starting its own.
  const settle = new Map<string, (dump: Promise<SshDump>) => void>();
  for (const [key] of fresh) {
    const dump = new Promise<SshDump>((resolve) => settle.set(key, resolve));
    dump.catch(() => dumps.delete(key));
    dumps.set(key, dump);
  }
  const answered = new Set<string>();
  try {
    const dir = await mkdtemp(join(tmpdir(), 'cutover-ssh-G-'));
    try {
      const jobs = fresh.map(
        ([, a], i) => sh`{ ${[ssh, '-G', ...a]} >${`${i}.out`} 2>${`${i}.err`}; echo $? >${`${i}.rc`}; } &`,
      );
      const groups: Command[] = [];
      for (let i = 0; i < jobs.length; i += DUMPS_AT_ONCE)
        groups.push(lines(...jobs.slice(i, i + DUMPS_AT_ONCE), sh`wait`));
      await new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', lines(...groups).render('exec')], {
          cwd: dir,
          stdio: 'ignore',
        });
        child.once('error', reject);
        child.once('close', () => resolve());
      });
      await Promise.all(
        fresh.map(async ([key], i) => {
          const read = (ext: string) => readFile(join(dir, `${i}.${ext}`), 'utf8').catch(() => undefined);
          const [rc, stdout, stderr] = await Promise.all([read('rc'), read('out'), read('err')]);
          const code = Number(rc);
          if (rc === undefined || !Number.isInteger(code) || code === 126 || code === 127) return;
          answered.add(key);
          settle.get(key)?.(Promise.resolve({ code, stdout: stdout ?? '', stderr: stderr ?? '' }));
        }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    for (const [key, argv] of fresh) if (!answered.has(key)) settle.get(key)?.(run(ssh, ['-G', ...argv]));
  }
}

/**
 * The argv after `-G` that resolves a host as the transport connects it: the ssh config file, the
 * inventory's settings and the address. Example: resolveArgs({ address: 'web', port: 2222 }) -> ['-p', '2222', '--', 'web'].
 */
export function resolveArgs(
  h: Pick<HostAddress, 'address' | 'port' | 'user' | 'sshOptions'>,
  configFile?: string,
): string[] {
  return [...(configFile ? ['-F', configFile] : []), ...sshArgsFor(h), '--', h.address];
}

function run(cmd: string, args: string[]): Promise<SshDump> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function parseG(text: string): Map<string, string[]> {
  const conf = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const key = line.slice(0, sp);
    conf.set(key, [...(conf.get(key) ?? []), line.slice(sp + 1)]);
  }
  return conf;
}

/**
 * Resolves every ssh host of `hosts` with `ssh -G`. Returns the connections by host name and the
 * problems (bad ssh config, a name that does not resolve, two hosts that reach one machine).
 * Example: `const { connections } = await resolveConnections(plan.hosts, { configFile })`.
 */
export async function resolveConnections(
  hosts: readonly Host[],
  options: ResolveOptions = {},
): Promise<{ connections: Map<string, ResolvedConnection>; problems: InputProblem[] }> {
  const ssh = options.sshBinary ?? 'ssh';
  const configName = options.configFile ?? '~/.ssh/config';
  const connections = new Map<string, ResolvedConnection>();
  const problems: InputProblem[] = [];
  const at = (h: Host) => h.loc ?? { file: '', line: 1, col: 1 };
  const sshHosts = hosts.filter((h) => h.transport !== 'local');
  await prefetchDumps(
    ssh,
    sshHosts.map((h) => resolveArgs(h, options.configFile)),
  );
  await Promise.all(
    sshHosts.map(async (h) => {
      const withConfig = await sshDump(ssh, resolveArgs(h, options.configFile));
      if (withConfig.code !== 0) {
        const m = /^(.+?):? line (\d+): (.*)$/m.exec(withConfig.stderr);
        problems.push({
          ...(m ? { file: m[1] as string, line: Number(m[2]), col: 1 } : at(h)),
          path: h.name,
          message: `ssh cannot resolve host ${h.name} (${h.address}) with ${configName}: ${(m?.[3] ?? withConfig.stderr).trim().split('\n')[0]}. Fix the ssh config, or the host's settings in the inventory`,
          severity: 'error',
        });
        return;
      }
      const g = parseG(withConfig.stdout);
      const d = await sshDefaults(ssh, h);
      const one = (m: Map<string, string[]>, k: string) => m.get(k)?.[0];
      // The command line (-p, -l, -o) wins in both resolutions: a difference is the ssh config's doing.
      const from = (key: 'user' | 'hostname' | 'port', inInventory: boolean): ConnectionSource =>
        !sameValue(key, one(g, key), d[key]) ? 'ssh config' : inInventory ? 'inventory' : 'ssh default';
      const hasOption = (name: string) => Object.keys(h.sshOptions).some((k) => k.toLowerCase() === name);
      const proxyJump = one(g, 'proxyjump');
      const proxyCommand = one(g, 'proxycommand');
      const via =
        proxyJump && proxyJump !== 'none'
          ? proxyJump
          : proxyCommand && proxyCommand !== 'none'
            ? proxyCommand
            : undefined;
      const c: ResolvedConnection = {
        user: one(g, 'user') ?? '?',
        hostname: one(g, 'hostname') ?? h.address,
        port: Number(one(g, 'port') ?? 22),
        ...(via ? { via } : {}),
        identityFiles: g.get('identityfile') ?? [],
        from: {
          user: from('user', h.user !== undefined || hasOption('user')),
          hostname: from('hostname', h.address !== h.name || hasOption('hostname')),
          port: from('port', h.port !== undefined || hasOption('port')),
        },
        config: configName,
      };
      connections.set(h.name, c);
      if (!via && !isIP(c.hostname)) {
        const found = await lookup(c.hostname).then(
          () => true,
          () => false,
        );
        if (!found)
          problems.push({
            ...at(h),
            path: h.name,
            message: `ssh would connect host ${h.name} to "${c.hostname}", which does not resolve (DNS, /etc/hosts) and has no HostName in ${configName}: set the host's address in the inventory, or add a "Host ${h.address}" block with HostName (or ProxyJump) to the ssh config`,
            severity: options.unresolvable ?? 'error',
          });
      }
    }),
  );
  // Two names for one machine (after the ssh config): see inventory/checks.ts for why this is an error.
  const seen = new Map<string, string>();
  for (const h of hosts) {
    const c = connections.get(h.name);
    if (!c) continue;
    const key = `${c.hostname.toLowerCase()}:${c.port}:${c.via ?? ''}`;
    const other = seen.get(key);
    if (other)
      problems.push({
        ...at(h),
        path: h.name,
        message: `hosts ${other} and ${h.name} both reach ${c.hostname}:${c.port}${c.via ? ` via ${c.via}` : ''} after ${configName}: one machine under two names would be upgraded (and drained) twice. Keep one name, or fix the HostName in the ssh config`,
        severity: 'error',
      });
    else seen.set(key, h.name);
  }
  return { connections, problems };
}

/**
 * What ssh would use for the host with no config file at all (`-F /dev/null`): the command line
 * (the inventory's -p, -l, -o) over ssh's defaults (port 22, the local login name, the address).
 * Worked out here rather than by a second `ssh -G` per host; an option value with a `%` token is
 * left to ssh, which expands it.
 */
async function sshDefaults(
  ssh: string,
  h: Pick<HostAddress, 'address' | 'port' | 'user' | 'sshOptions'>,
): Promise<Record<'user' | 'hostname' | 'port', string | undefined>> {
  const options = h.sshOptions ?? {};
  const option = (name: string) => Object.entries(options).find(([k]) => k.toLowerCase() === name)?.[1];
  if (Object.values(options).some((v) => v.includes('%'))) {
    const bare = parseG((await sshDump(ssh, resolveArgs(h, '/dev/null'))).stdout);
    return { user: bare.get('user')?.[0], hostname: bare.get('hostname')?.[0], port: bare.get('port')?.[0] };
  }
  return {
    user: h.user ?? option('user') ?? localUser(),
    hostname: option('hostname') ?? h.address,
    port: String(h.port ?? option('port') ?? 22),
  };
}

/** ssh lowercases the host it was given; HostName and ports compare as ssh prints them. */
function sameValue(
  key: 'user' | 'hostname' | 'port',
  resolved: string | undefined,
  bare: string | undefined,
): boolean {
  return key === 'hostname' ? resolved?.toLowerCase() === bare?.toLowerCase() : resolved === bare;
}

function localUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** `deploy@10.0.0.10:2222 via bastion (user, port from ~/.ssh/config)`: one host's line in `cutover plan`. */
export function describeConnection(c: ResolvedConnection): string {
  const fromConfig = (['user', 'hostname', 'port'] as const).filter((k) => c.from[k] === 'ssh config');
  return `${c.user}@${c.hostname}:${c.port}${c.via ? ` via ${c.via}` : ''}${fromConfig.length ? ` (${fromConfig.join(', ')} from ${c.config})` : ''}`;
}
