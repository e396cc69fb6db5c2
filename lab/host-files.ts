/**
 * Texts of the files that make a lab host: its init (PID 1 of the namespaces), its sshd config,
 * its /etc/hosts and the nginx unit. Pure functions of the host's description, so they are tested
 * as text; every interpolated value goes through the one `quote`.
 */
import { quote } from '../src/shell/quote.js';
import type { LabHostSpec } from './scenario.js';

/** Everything init needs to know. Example: see `renderInitScript`. */
export interface InitSpec {
  name: string;
  address: string;
  /** Overlay mounts: tree (`etc`, `usr/share`), its upper and work dirs. */
  overlays: readonly { tree: string; upper: string; work: string }[];
  /** Controller folders bound into the host: source, target inside the host, read-only or not. */
  binds: readonly { source: string; target: string; readOnly: boolean }[];
  /** The scenario's boot commands, run in order after sshd started. */
  bootCommands: readonly string[];
  /** Limit for each boot command. */
  bootCommandTimeoutSec: number;
  /** Console log on the controller, named in failure messages. */
  consolePath: string;
}

/**
 * The host's init, run as `unshare ... --fork /bin/sh init.sh`: mounts /run, stages the binds,
 * mounts the overlays (their paths are resolved before the host's own /tmp and /mnt hide them),
 * a private /tmp and /mnt, moves the binds into place, sets the hostname, starts sshd with the
 * host's own config, runs the boot commands, writes /run/lab/boot.status and reaps orphans
 * forever. Any mount failure ends it before sshd starts, so a host never runs unisolated.
 * Example: renderInitScript({ name: 'web', address: '127.0.10.10', overlays, binds, bootCommands: ['nginx'], ... }).
 */
export function renderInitScript(spec: InitSpec): string {
  const q = (s: string) => quote(s);
  const lines: string[] = [
    '#!/bin/sh',
    `# cutover lab host ${spec.name} (${spec.address}): PID 1 of the host's mount, UTS and PID namespaces.`,
    '# Written by `cutover lab up` (lab/host-files.ts); killing this process powers the host off.',
    'set -u',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'export PATH',
    `say() { echo "lab-init[${spec.name}]: $*"; }`,
    'die() { say "$*"; exit 1; }',
    'say booting',
    'mount -t tmpfs -o mode=0755,nosuid,nodev lab-run /run || die "cannot mount a tmpfs on /run"',
  ];
  spec.binds.forEach((bind, i) => {
    const stage = `/run/lab/stage/${i}`;
    lines.push(
      `mkdir -p ${stage} && mount --bind ${q(bind.source)} ${stage} || die ${q(`cannot bind ${bind.source}`)}`,
    );
    if (bind.readOnly)
      lines.push(`mount -o remount,bind,ro ${stage} || die ${q(`cannot make ${bind.target} read-only`)}`);
  });
  for (const o of spec.overlays) {
    const options = `lowerdir=/${o.tree},upperdir=${o.upper},workdir=${o.work}`;
    lines.push(
      `mount -t overlay lab-${o.tree.replace('/', '-')} -o ${q(options)} /${o.tree} || die ${q(`cannot mount the overlay on /${o.tree}`)}`,
    );
  }
  lines.push(
    'mount -t tmpfs -o mode=1777,nosuid,nodev lab-tmp /tmp || die "cannot mount a tmpfs on /tmp"',
    'mount -t tmpfs -o mode=0755 lab-mnt /mnt || die "cannot mount a tmpfs on /mnt"',
  );
  spec.binds.forEach((bind, i) => {
    lines.push(
      `mkdir -p ${q(bind.target)} && mount --move /run/lab/stage/${i} ${q(bind.target)} || die ${q(`cannot mount ${bind.target}`)}`,
    );
  });
  lines.push(
    'rm -rf /run/lab/stage',
    `echo ${q(spec.name)} >/proc/sys/kernel/hostname || die "cannot set the hostname"`,
    'mkdir -p /run/sshd /run/lab-units /var/log/lab-units && chmod 0755 /run/sshd',
    '/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config </dev/null &',
    'say "sshd started (pid $!)"',
    'failed=0',
    'boot() {',
    '  say "boot: $1"',
    `  timeout ${spec.bootCommandTimeoutSec} sh -c "$1" </dev/null`,
    '  rc=$?',
    '  [ $rc -eq 0 ] && return 0',
    '  say "boot command failed (exit $rc): $1"',
    '  failed=$((failed + 1))',
    '}',
  );
  for (const cmd of spec.bootCommands) lines.push(`boot ${q(cmd)}`);
  lines.push(
    'if [ $failed -eq 0 ]; then',
    '  echo ready >/run/lab/boot.status',
    'else',
    `  echo "failed: $failed boot command(s) failed; see ${spec.consolePath.replace(/["$`\\]/g, '\\$&')}" >/run/lab/boot.status`,
    'fi',
    'say "boot finished: $(cat /run/lab/boot.status)"',
    '# PID 1 inherits every orphan: waiting reaps them, so no zombie lingers in the host.',
    'while :; do',
    '  sleep 3600 &',
    '  wait $!',
    'done',
    '',
  );
  return lines.join('\n');
}

/**
 * The host's sshd config: its own address and host key, key-only root login. MaxStartups and
 * MaxSessions are raised because cutover multiplexes and tests log in in parallel.
 * Example: renderSshdConfig({ name: 'web', address: '127.0.10.10' }).
 */
export function renderSshdConfig(
  host: Pick<LabHostSpec, 'name' | 'address'>,
  opts: { rootOnlyOnPort?: number } = {},
): string {
  const port = opts.rootOnlyOnPort;
  return [
    `# sshd of lab host ${host.name}, written by \`cutover lab up\`: it listens on the host's own`,
    '# loopback address only (the hosts share the network namespace) and takes keys only.',
    `ListenAddress ${host.address}:22`,
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PidFile /run/sshd.pid',
    // sshd keeps the first value of a keyword: a sudo-login host refuses root here, and Match re-allows it on its own port.
    `PermitRootLogin ${port === undefined ? 'prohibit-password' : 'no'}`,
    'PubkeyAuthentication yes',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'AcceptEnv LANG LC_*',
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    // A sudo-login lab (lab/sudo-login.ts): root only on the lab's own port; Match blocks come last.
    ...(port === undefined
      ? []
      : [
          `ListenAddress ${host.address}:${port}`,
          `Match LocalPort ${port}`,
          '  PermitRootLogin prohibit-password',
        ]),
    '',
  ].join('\n');
}

/** The controller's /etc/hosts plus every lab host, so hosts reach each other by name. Example: renderEtcHosts(base, hosts). */
export function renderEtcHosts(
  base: string,
  hosts: readonly Pick<LabHostSpec, 'name' | 'address'>[],
): string {
  const kept = base.replace(/\n?# cutover lab hosts[\s\S]*$/, '').replace(/\n*$/, '\n');
  return `${kept}# cutover lab hosts\n${hosts.map((h) => `${h.address}\t${h.name}`).join('\n')}\n`;
}

/**
 * The nginx unit every host gets (like Debian's package ships one), for the systemctl stand-in:
 * nginx in the foreground, reload by signal. PIDFile= makes `systemctl status|reload|stop nginx`
 * work also when a scenario started nginx plainly (`nginx` in boot()).
 * Example: `systemctl start nginx; systemctl reload nginx`.
 */
export const NGINX_UNIT = `[Unit]
Description=A high performance web server and a reverse proxy server (cutover lab)

[Service]
ExecStart=/usr/sbin/nginx -g 'daemon off;'
ExecReload=/usr/sbin/nginx -s reload
PIDFile=/run/nginx.pid
KillSignal=SIGQUIT
TimeoutStopSec=5

[Install]
WantedBy=multi-user.target
`;
