import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../src/inventory/load.js';
import { clearFault, setFault } from './faults.js';
import { PreflightError } from '../src/errors.js';
import {
  checkPrerequisites,
  isHostRunning,
  labDown,
  labStatus,
  labUp,
  readHostRun,
  requireRoot,
} from './hosts.js';
import { labLayout } from './layout.js';
import { plainScenario } from './scenarios/plain.js';
import { eventually, labProcesses, leftovers, sshPool, tempLabDir } from './test-support.js';

const execFileAsync = promisify(execFile);

// Own addresses, so this file can run next to other lab tests.
const scenario = plainScenario({ hosts: 2, firstAddress: '127.0.20.10' });
const labDir = tempLabDir('hosts');
const layout = labLayout(labDir);
const names = scenario.hosts.map((h) => h.name);
const ssh = sshPool(labDir);

/** A login exactly as a user would do it from the inventory: system ssh, lab key, lab known_hosts. */
async function login(address: string, command: string, knownHosts = layout.knownHosts) {
  try {
    const { stdout, stderr } = await execFileAsync(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-i',
        layout.key,
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        `root@${address}`,
        command,
      ],
      { timeout: 15_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

beforeAll(async () => {
  await labUp({ scenario, labDir });
});

afterAll(async () => {
  await ssh.close();
  await labDown({ labDir });
  await fs.rm(labDir, { recursive: true, force: true });
});

describe('lab up (plain, 2 hosts)', () => {
  it('writes an inventory cutover loads, with the lab key and known_hosts', async () => {
    const inventory = await loadInventory(layout.inventory);
    expect(inventory.cluster).toBe('lab-plain');
    expect(inventory.hosts.map((h) => [h.name, h.address, h.port, h.user, h.roles])).toEqual([
      ['node1', '127.0.20.10', 22, 'root', ['node']],
      ['node2', '127.0.20.11', 22, 'root', ['node']],
    ]);
    expect(inventory.hosts[0]?.sshOptions).toMatchObject({
      IdentityFile: layout.key,
      UserKnownHostsFile: layout.knownHosts,
      StrictHostKeyChecking: 'yes',
    });
  });

  it('lets the system ssh client log in with the key and checked host keys; hostnames differ', async () => {
    const one = await login('127.0.20.10', 'hostname; cat /etc/hostname');
    const two = await login('127.0.20.11', 'hostname');
    expect(one).toMatchObject({ code: 0, stdout: 'node1\nnode1\n' });
    expect(two).toMatchObject({ code: 0, stdout: 'node2\n' });
    // The ssh_config a person uses reaches the same host.
    expect(await ssh.out('node2', 'hostname')).toBe('node2\n');
  });

  it('refuses a login when known_hosts holds another key for the address, or none', async () => {
    const lines = readFileSync(layout.knownHosts, 'utf8').trim().split('\n');
    const node2Key = lines[1]!.split(' ').slice(1).join(' ');
    const wrong = path.join(labDir, 'known_hosts.wrong');
    writeFileSync(wrong, `127.0.20.10 ${node2Key}\n`);
    const swapped = await login('127.0.20.10', 'hostname', wrong);
    expect(swapped.code).toBe(255);
    expect(swapped.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(swapped.stdout).toBe('');
    const empty = path.join(labDir, 'known_hosts.empty');
    writeFileSync(empty, '');
    const unknown = await login('127.0.20.10', 'hostname', empty);
    expect(unknown.code).toBe(255);
    expect(unknown.stderr).toContain('Host key verification failed');
  });

  it('shows each host only its own processes', async () => {
    await ssh.out('node1', 'setsid sleep 4242 </dev/null >/dev/null 2>&1 &');
    const one = await ssh.out('node1', 'ps -e -o pid=,args=');
    const two = await ssh.out('node2', 'ps -e -o pid=,args=');
    expect(one).toContain('sleep 4242');
    expect(two).not.toContain('sleep 4242');
    for (const table of [one, two]) {
      const rows = table
        .trim()
        .split('\n')
        .map((l) => l.trim());
      // PID 1 is the host's own init; nothing of the controller (vitest runs in node) is visible.
      expect(rows.find((r) => r.startsWith('1 '))).toMatch(/^1 \/bin\/sh .*\/init\.sh$/);
      expect(rows.some((r) => /\bnode\b|vitest/.test(r))).toBe(false);
      expect(rows.length).toBeLessThan(15);
    }
    await ssh.out('node1', 'pkill -x -f "sleep 4242"');
  });

  it('keeps files in /etc, /home, /root and /var private to each host', async () => {
    const marker = `lab-marker-${process.pid}`;
    await ssh.out(
      'node1',
      `echo one > /etc/${marker} && echo one > /home/${marker} && echo one > /var/${marker} && echo one > /root/${marker}`,
    );
    const onNode2 = await ssh.out(
      'node2',
      `ls /etc/${marker} /home/${marker} /var/${marker} /root/${marker} 2>/dev/null | wc -l`,
    );
    expect(onNode2.trim()).toBe('0');
    for (const dir of ['/etc', '/home', '/var', '/root'])
      expect(existsSync(path.join(dir, marker))).toBe(false);
    // The controller sees the host's writes in the host's upper dir, laid out like `/`.
    expect(readFileSync(path.join(layout.host('node1').root, 'etc', marker), 'utf8')).toBe('one\n');
    expect(readFileSync(path.join(layout.host('node1').root, 'home', marker), 'utf8')).toBe('one\n');
    // /tmp is a private tmpfs per host.
    await ssh.out('node1', `echo x > /tmp/${marker}`);
    expect((await ssh.run('node2', `test -e /tmp/${marker}`)).code).toBe(1);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
  });

  it("gives root a fresh home with Debian's dotfiles, not the controller's", async () => {
    const entries = (await ssh.out('node2', 'ls -A /root')).trim().split('\n');
    expect(entries.sort()).toEqual(['.bashrc', '.profile', '.ssh']);
    expect(await ssh.out('node2', 'cat /root/.bashrc')).toBe(
      readFileSync('/usr/share/base-files/dot.bashrc', 'utf8'),
    );
    expect(await ssh.out('node2', 'stat -c %a /root /root/.ssh /root/.ssh/authorized_keys')).toBe(
      '700\n700\n600\n',
    );
  });

  it('has the systemctl stand-in on PATH, the sims read-only, and no Debian default nginx site', async () => {
    expect(await ssh.out('node1', 'command -v systemctl')).toBe('/usr/local/sbin/systemctl\n');
    expect((await ssh.run('node1', 'touch /opt/lab/sim/x')).code).not.toBe(0);
    expect(await ssh.out('node1', 'ls /etc/nginx/sites-enabled/ | wc -l')).toBe('0\n');
  });

  it('is idempotent: a second up leaves running hosts alone and boots a missing one', async () => {
    const before = await Promise.all(scenario.hosts.map((h) => readHostRun(layout, h.name)));
    const knownHosts = readFileSync(layout.knownHosts, 'utf8');
    const again = await labUp({ scenario, labDir });
    expect(again.hosts.map((h) => h.booted)).toEqual([false, false]);
    const same = await Promise.all(scenario.hosts.map((h) => readHostRun(layout, h.name)));
    expect(same.map((r) => r?.init)).toEqual(before.map((r) => r?.init));

    // Power node2 off from outside, as a crash would; `up` boots just that one again.
    process.kill(before[1]!.init.pid, 'SIGKILL');
    await eventually(
      async () => ((await isHostRunning(layout, 'node2')) ? undefined : true),
      10_000,
      'node2 to stop',
    );
    const third = await labUp({ scenario, labDir });
    expect(third.hosts.map((h) => [h.name, h.booted])).toEqual([
      ['node1', false],
      ['node2', true],
    ]);
    expect(readFileSync(layout.knownHosts, 'utf8')).toBe(knownHosts);
    // Its files survived the "crash" (the trees are its disk).
    expect(await ssh.run('node2', 'hostname')).toMatchObject({ code: 0, stdout: 'node2\n' });
  });

  it('refuses a lab folder that holds another scenario, and addresses another lab uses', async () => {
    await expect(labUp({ scenario: { ...scenario, name: 'ecsc' }, labDir })).rejects.toThrow(
      /holds the lab of scenario "plain", not "ecsc"/,
    );
    const other = tempLabDir('hosts-other');
    await expect(labUp({ scenario, labDir: other })).rejects.toThrow(
      /cannot boot node1 on 127\.0\.20\.10:22, node2 on 127\.0\.20\.11:22 .*: an sshd already listens there/,
    );
    expect(existsSync(labLayout(other).host('node1').run)).toBe(false);
    await fs.rm(other, { recursive: true, force: true });
  });

  it('reports status: addresses, sshd up, no units', async () => {
    const status = await labStatus({ labDir });
    expect(status.scenario).toBe('plain');
    expect(status.hosts.map((h) => [h.name, h.address, h.running, h.sshd, h.units])).toEqual([
      ['node1', '127.0.20.10', true, 'up', []],
      ['node2', '127.0.20.11', true, 'up', []],
    ]);
  });

  it('shows fault knobs inside the host at once, and clears them', async () => {
    await setFault(labDir, 'node1', 'slow-start', '7');
    await setFault(labDir, 'node1', 'fail-start');
    expect(await ssh.out('node1', 'cat /etc/lab/faults/slow-start; ls /etc/lab/faults')).toBe(
      '7\nfail-start\nslow-start\n',
    );
    expect(await ssh.out('node2', 'ls /etc/lab/faults | wc -l')).toBe('0\n');
    await clearFault(labDir, 'node1', 'fail-start');
    expect(await ssh.out('node1', 'ls /etc/lab/faults')).toBe('slow-start\n');
    // Knobs are plain files: removing one inside the host works too.
    await ssh.out('node1', 'rm /etc/lab/faults/slow-start');
    expect(existsSync(path.join(layout.host('node1').faults, 'slow-start'))).toBe(false);
  });

  it('runs nginx as the unit `nginx`: start, serve on the host address, reload, stop', async () => {
    const site = (text: string) =>
      `server { listen 127.0.20.10:8088; location / { return 200 "${text}\\n"; } }`;
    await ssh.out(
      'node1',
      `echo '${site('first')}' > /etc/nginx/sites-enabled/lab-test && systemctl start nginx && systemctl is-active nginx`,
    );
    const get = () =>
      new Promise<string>((resolve, reject) => {
        http
          .get('http://127.0.20.10:8088/', { agent: false }, (res) => {
            let body = '';
            res.on('data', (c) => {
              body += c;
            });
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    expect(await eventually(get, 10_000, 'nginx to answer')).toBe('first\n');
    await ssh.out(
      'node1',
      `echo '${site('second')}' > /etc/nginx/sites-enabled/lab-test && systemctl reload nginx`,
    );
    expect(
      await eventually(
        async () => ((await get()) === 'second\n' ? 'second\n' : undefined),
        10_000,
        'the reload',
      ),
    ).toBe('second\n');
    // node2 has no such site and no nginx running.
    expect(await ssh.out('node2', 'systemctl is-active nginx || true')).toBe('inactive\n');
    await ssh.out('node1', 'systemctl stop nginx');
    expect(await ssh.out('node1', 'systemctl is-active nginx || true')).toBe('inactive\n');
    await expect(get()).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('lab down', () => {
  it('leaves no process, mount or listening address behind, and up again reuses the keys', async () => {
    await ssh.close();
    // The check sees a running lab (so a clean result below means something).
    const before = await labProcesses(labDir, names);
    expect(before.length).toBeGreaterThanOrEqual(2 * 4); // unshare, init, sshd, sleep per host
    const running = await leftovers(labDir, before, scenario.hosts);
    expect(running.processes.length).toBeGreaterThan(0);
    expect(running.mounts.length).toBeGreaterThan(0);
    expect(running.listening).toEqual(['127.0.20.10:22', '127.0.20.11:22']);
    const down = await labDown({ labDir });
    expect(down.hosts).toEqual(['node1', 'node2']);
    const after = await leftovers(labDir, before, scenario.hosts);
    expect(after, JSON.stringify(after, null, 1)).toEqual({ processes: [], mounts: [], listening: [] });
    expect(await labStatus({ labDir })).toMatchObject({
      hosts: [
        { running: false, sshd: 'down' },
        { running: false, sshd: 'down' },
      ],
    });

    const knownHosts = readFileSync(layout.knownHosts, 'utf8');
    const up = await labUp({ scenario, labDir });
    expect(up.hosts.every((h) => h.booted)).toBe(true);
    expect(readFileSync(layout.knownHosts, 'utf8')).toBe(knownHosts);
    expect(await login('127.0.20.10', 'hostname')).toMatchObject({ code: 0, stdout: 'node1\n' });
    const marker = `lab-marker-${process.pid}`;
    expect(readFileSync(path.join(layout.host('node1').root, 'etc', marker), 'utf8')).toBe('one\n');
    expect(await login('127.0.20.10', `cat /etc/${marker}`)).toMatchObject({ code: 0, stdout: 'one\n' });

    const beforePurge = await labProcesses(labDir, names);
    await labDown({ labDir, purge: true });
    const afterPurge = await leftovers(labDir, beforePurge, scenario.hosts);
    expect(afterPurge, JSON.stringify(afterPurge, null, 1)).toEqual({
      processes: [],
      mounts: [],
      listening: [],
    });
    expect(existsSync(layout.host('node1').root)).toBe(false);
    expect(existsSync(layout.key)).toBe(true);
    expect(readFileSync(layout.knownHosts, 'utf8')).toBe(knownHosts);
  });
});

describe('lab preconditions', () => {
  it('needs root, and says how to get it', () => {
    expect(() => requireRoot(1000)).toThrow(PreflightError);
    expect(() => requireRoot(1000)).toThrow(/needs root.*uid 1000/);
    expect(() => requireRoot(0)).not.toThrow();
  });

  it('names the Debian packages of missing programs', () => {
    const without = (missing: string[]) => (p: string) => !missing.includes(p);
    expect(() => checkPrerequisites(true, without([]))).not.toThrow();
    expect(() => checkPrerequisites(true, without(['/usr/sbin/sshd', '/usr/sbin/nginx']))).toThrow(
      expect.objectContaining({
        hint: 'Install the Debian packages: apt-get install -y openssh-server nginx (or run: sh scripts/prerequisites.sh lab).',
      }),
    );
    expect(() => checkPrerequisites(false, without(['/usr/sbin/nginx']))).not.toThrow();
  });
});
