import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { checkLabDir, labLayout, labSourceDir } from './layout.js';

describe('lab layout', () => {
  it('puts every host file under hosts/<name>', () => {
    const l = labLayout('/srv/lab');
    expect(l.host('web')).toEqual({
      dir: '/srv/lab/hosts/web',
      root: '/srv/lab/hosts/web/root',
      work: '/srv/lab/hosts/web/work',
      faults: '/srv/lab/hosts/web/faults',
      init: '/srv/lab/hosts/web/init.sh',
      console: '/srv/lab/hosts/web/console.log',
      run: '/srv/lab/hosts/web/run.json',
    });
    expect([l.key, l.knownHosts, l.sshConfig, l.inventory, l.shared]).toEqual([
      '/srv/lab/id_ed25519',
      '/srv/lab/known_hosts',
      '/srv/lab/ssh_config',
      '/srv/lab/inventory.yml',
      '/srv/lab/shared',
    ]);
  });

  it('refuses lab folders inside trees the hosts overlay, or with characters mount options cannot carry', () => {
    expect(checkLabDir('/srv/lab')).toBe('/srv/lab');
    expect(checkLabDir('/tmp/x')).toBe('/tmp/x');
    expect(checkLabDir('/root/cutover/.lab/plain')).toBe('/root/cutover/.lab/plain');
    for (const bad of [
      '/etc/lab',
      '/var/lib/lab',
      '/home/me/.lab/x',
      '/usr/share/lab',
      '/opt/lab',
      '/run/lab',
    ]) {
      expect(() => checkLabDir(bad)).toThrow(UsageError);
    }
    expect(() => checkLabDir('/home/me/.lab')).toThrow(
      /inside \/home, which every lab host mounts privately/,
    );
    expect(() => checkLabDir('/srv/a,b')).toThrow(/comma, colon/);
  });

  it("finds the repo's lab/ folder with the systemctl stand-in", () => {
    const dir = labSourceDir();
    expect(path.basename(dir)).toBe('lab');
    expect(existsSync(path.join(dir, 'bin', 'systemctl'))).toBe(true);
  });
});
