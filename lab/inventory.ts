/**
 * The files a lab gives its users on the controller: cutover's inventory, an ssh_config for
 * people (`ssh -F <labDir>/ssh_config web`) and the known_hosts both use. Pure text functions.
 */
import { stringify } from 'yaml';
import type { LabLayout } from './layout.js';
import type { LabHostSpec } from './scenario.js';

/** A host and its public host key line (`ssh-ed25519 AAAA... root@web`). */
export interface HostKeyEntry {
  name: string;
  address: string;
  publicKey: string;
}

/**
 * known_hosts for the lab: each host's key under its address and its name.
 * Example: renderKnownHosts([{ name: 'web', address: '127.0.10.10', publicKey: 'ssh-ed25519 AAAA...' }])
 * -> '127.0.10.10,web ssh-ed25519 AAAA...\n'.
 */
export function renderKnownHosts(entries: readonly HostKeyEntry[]): string {
  return entries
    .map((e) => {
      const [type, key] = e.publicKey.trim().split(/\s+/);
      return `${e.address},${e.name} ${type} ${key}\n`;
    })
    .join('');
}

const sshQuote = (value: string) => (/[\s"]/.test(value) ? `"${value.replace(/"/g, '\\"')}"` : value);

/** The ssh options every lab connection uses (inventory defaults and ssh_config alike). Example: labSshOptions(layout).StrictHostKeyChecking -> 'yes'. */
export function labSshOptions(layout: Pick<LabLayout, 'key' | 'knownHosts'>): Record<string, string> {
  return {
    IdentityFile: layout.key,
    UserKnownHostsFile: layout.knownHosts,
    StrictHostKeyChecking: 'yes',
    IdentitiesOnly: 'yes',
  };
}

/**
 * An ssh_config naming every host. Example: `ssh -F /tmp/lab/ssh_config web hostname` -> `web`.
 */
export function renderSshConfig(
  scenario: string,
  layout: Pick<LabLayout, 'key' | 'knownHosts' | 'sshConfig'>,
  hosts: readonly Pick<LabHostSpec, 'name' | 'address'>[],
  port = 22,
): string {
  const lines = [
    `# cutover lab "${scenario}", written by \`cutover lab up\`. Use: ssh -F ${layout.sshConfig} ${hosts[0]?.name ?? 'HOST'}`,
    '',
  ];
  for (const h of hosts) lines.push(`Host ${h.name}`, `  HostName ${h.address}`, '');
  lines.push('Host *', '  User root', `  Port ${port}`);
  for (const [key, value] of Object.entries(labSshOptions(layout))) lines.push(`  ${key} ${sshQuote(value)}`);
  lines.push('  GlobalKnownHostsFile /dev/null', '  BatchMode yes', '  LogLevel ERROR', '');
  return lines.join('\n');
}

/**
 * cutover's inventory of the lab. Example:
 * renderInventory('comindware', layout, hosts, { instance: 'cmw' }) -> 'cluster: lab-comindware\ndefaults: ...'.
 */
export function renderInventory(
  scenario: string,
  layout: Pick<LabLayout, 'key' | 'knownHosts' | 'sshConfig'>,
  hosts: readonly LabHostSpec[],
  vars: Record<string, unknown>,
  login: { user: string; become?: boolean } = { user: 'root' },
): string {
  const doc = {
    cluster: `lab-${scenario}`,
    defaults: {
      user: login.user,
      port: 22,
      ...(login.become ? { become: true } : {}),
      ssh_options: labSshOptions(layout),
    },
    vars,
    hosts: Object.fromEntries(
      hosts.map((h) => [h.name, { address: h.address, roles: h.roles, vars: h.vars }]),
    ),
  };
  const header = [
    `# Inventory of the cutover lab "${scenario}", written by \`cutover lab up\` (rewritten on every up).`,
    `# The hosts are namespaces on this machine; log in with: ssh -F ${layout.sshConfig} ${hosts[0]?.name ?? 'HOST'}`,
    '',
  ].join('\n');
  return header + stringify(doc, { lineWidth: 0 });
}
