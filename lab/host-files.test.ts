import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NGINX_UNIT, renderEtcHosts, renderInitScript, renderSshdConfig } from './host-files.js';
import { tempLabDir } from './test-support.js';

const spec = {
  name: 'web',
  address: '127.0.10.10',
  overlays: [
    {
      tree: 'usr/share',
      upper: "/tmp/it's lab/hosts/web/root/usr/share",
      work: '/tmp/lab/hosts/web/work/usr-share',
    },
  ],
  binds: [{ source: '/repo/lab/sim', target: '/opt/lab/sim', readOnly: true }],
  bootCommands: ['nginx', "echo 'quoted; not split'"],
  bootCommandTimeoutSec: 60,
  consolePath: '/tmp/lab/hosts/web/console.log',
};

describe('renderInitScript', () => {
  const script = renderInitScript(spec);

  it('is valid sh', () => {
    const dir = tempLabDir('init');
    writeFileSync(path.join(dir, 'init.sh'), script);
    expect(() => execFileSync('sh', ['-n', path.join(dir, 'init.sh')])).not.toThrow();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mounts /run first, stages binds, overlays with quoted paths, then private /tmp and /mnt', () => {
    const mounts = script.split('\n').filter((l) => /^(mkdir -p \S+ && )?mount /.test(l));
    expect(mounts).toEqual([
      'mount -t tmpfs -o mode=0755,nosuid,nodev lab-run /run || die "cannot mount a tmpfs on /run"',
      "mkdir -p /run/lab/stage/0 && mount --bind /repo/lab/sim /run/lab/stage/0 || die 'cannot bind /repo/lab/sim'",
      "mount -o remount,bind,ro /run/lab/stage/0 || die 'cannot make /opt/lab/sim read-only'",
      `mount -t overlay lab-usr-share -o 'lowerdir=/usr/share,upperdir=/tmp/it'\\''s lab/hosts/web/root/usr/share,workdir=/tmp/lab/hosts/web/work/usr-share' /usr/share || die 'cannot mount the overlay on /usr/share'`,
      'mount -t tmpfs -o mode=1777,nosuid,nodev lab-tmp /tmp || die "cannot mount a tmpfs on /tmp"',
      'mount -t tmpfs -o mode=0755 lab-mnt /mnt || die "cannot mount a tmpfs on /mnt"',
      "mkdir -p /opt/lab/sim && mount --move /run/lab/stage/0 /opt/lab/sim || die 'cannot mount /opt/lab/sim'",
    ]);
  });

  it('starts sshd only after the mounts, then the boot commands as single words, then reaps forever', () => {
    const sshd = script.indexOf('/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config');
    expect(sshd).toBeGreaterThan(script.lastIndexOf('mount --move'));
    expect(script).toContain('echo web >/proc/sys/kernel/hostname');
    expect(script).toContain("boot nginx\nboot 'echo '\\''quoted; not split'\\'''");
    expect(script).toContain('timeout 60 sh -c "$1"');
    expect(script.trimEnd().endsWith('while :; do\n  sleep 3600 &\n  wait $!\ndone')).toBe(true);
  });
});

describe('host config files', () => {
  it('sshd listens on the host address only, keys only', () => {
    const config = renderSshdConfig({ name: 'web', address: '127.0.10.10' });
    expect(config).toContain('ListenAddress 127.0.10.10:22\n');
    expect(config).not.toMatch(/ListenAddress (0\.0\.0\.0|::)/);
    expect(config).toContain('PasswordAuthentication no\n');
    expect(config).toContain('HostKey /etc/ssh/ssh_host_ed25519_key\n');
  });

  it('/etc/hosts keeps the base and replaces its own block on every up', () => {
    const once = renderEtcHosts('127.0.0.1\tlocalhost\n', [{ name: 'web', address: '127.0.10.10' }]);
    expect(once).toBe('127.0.0.1\tlocalhost\n# cutover lab hosts\n127.0.10.10\tweb\n');
    const twice = renderEtcHosts(once, [
      { name: 'web', address: '127.0.10.10' },
      { name: 'backup', address: '127.0.10.12' },
    ]);
    expect(twice).toBe('127.0.0.1\tlocalhost\n# cutover lab hosts\n127.0.10.10\tweb\n127.0.10.12\tbackup\n');
  });

  it('the nginx unit runs nginx in the foreground and reloads by signal', () => {
    expect(NGINX_UNIT).toContain("ExecStart=/usr/sbin/nginx -g 'daemon off;'\n");
    expect(NGINX_UNIT).toContain('ExecReload=/usr/sbin/nginx -s reload\n');
    expect(NGINX_UNIT).toContain('PIDFile=/run/nginx.pid\n');
  });
});
