/**
 * Ansible's connection variables, decided one by one: each is honoured (it becomes a Host field),
 * ignored because it cannot matter to cutover, refused (an error saying what to do), or reported
 * as a warning naming the variable and the hosts — never dropped in silence. The table is
 * `ANSIBLE_VARIABLES`; `cutover docs` prints it.
 */
import type { Loc } from '../../source/loc.js';
import type { Become, Host } from '../model.js';
import type { VarEntry, Vars } from './model.js';
import { BECOME_PASSWORD_SOURCES } from '../../shared/become.js';
import { vaultWayOut } from './vault.js';

/** What cutover does with each Ansible variable it knows; any other `ansible_*` is a warning. */
export const ANSIBLE_VARIABLES: Readonly<Record<string, string>> = {
  'ansible_host, ansible_ssh_host': 'the address ssh connects to',
  'ansible_port, ansible_ssh_port, host:port': 'the ssh port (-p)',
  'ansible_user, ansible_ssh_user': 'the ssh user (-l)',
  'ansible_ssh_private_key_file, ansible_private_key_file': 'IdentityFile',
  'ansible_ssh_common_args, ansible_ssh_extra_args':
    'read for -o Option=value, -J (ProxyJump), -i (IdentityFile), -A, -C; other words are a warning',
  'ansible_timeout, ansible_ssh_timeout': 'ConnectTimeout',
  ansible_connection:
    'ssh or smart: ssh; local: the controller; paramiko: ssh with a warning; others are refused',
  ansible_become: "run the host's shell under sudo (Host.become)",
  ansible_become_user: 'the sudo target user (default root); a warning without ansible_become=true',
  ansible_become_method: 'sudo only; other methods are refused',
  'ansible_become_password, ansible_become_pass, ansible_sudo_pass':
    'refused: a sudo password is a cutover secret (env, file or prompt), never inventory text',
  'ansible_password, ansible_ssh_pass, ansible_ssh_password':
    'warning: cutover logs in with keys only (BatchMode)',
  'ansible_host_key_checking, ansible_ssh_host_key_checking':
    'false is a warning: cutover never turns host key checking off',
  'ansible_python_interpreter, ansible_pipelining, ansible_ssh_pipelining, ansible_ssh_transfer_method, ansible_scp_if_ssh, ansible_group_priority':
    'ignored: cutover runs no Python on hosts and copies over its own shell (group priority orders groups)',
  'ansible_*':
    'any other (ansible_ssh_executable, ansible_shell_type, ansible_become_flags, ...): a warning naming the variable and the hosts, not honoured',
};

const IGNORED = new Set([
  'ansible_python_interpreter',
  'ansible_pipelining',
  'ansible_ssh_pipelining',
  'ansible_ssh_transfer_method',
  'ansible_scp_if_ssh',
  'ansible_group_priority',
]);

const HONOURED = new Set([
  'ansible_host',
  'ansible_ssh_host',
  'ansible_port',
  'ansible_ssh_port',
  'ansible_user',
  'ansible_ssh_user',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_ssh_common_args',
  'ansible_ssh_extra_args',
  'ansible_timeout',
  'ansible_ssh_timeout',
  'ansible_connection',
  'ansible_become',
  'ansible_become_user',
  'ansible_become_method',
  'ansible_become_password',
  'ansible_become_pass',
  'ansible_sudo_pass',
  'ansible_password',
  'ansible_ssh_pass',
  'ansible_ssh_password',
  'ansible_host_key_checking',
  'ansible_ssh_host_key_checking',
]);

/** A finding about a variable: reported once per place it was set, listing the hosts it affects. */
export interface Finding {
  loc: Loc;
  variable: string;
  message: string;
  severity: 'error' | 'warning';
  host: string;
}

const TRUE = new Set(['true', 'yes', 'on', '1', 'y', 't']);
const FALSE = new Set(['false', 'no', 'off', '0', 'n', 'f', '']);

/** Splits ssh args as a shell would (quotes, backslashes). Example: `-o 'ProxyCommand=ssh -W %h:%p b'` -> 2 words. */
export function shellWords(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word = `${word ?? ''}${text[++i]}`;
      else word = `${word ?? ''}${c}`;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) word = (word ?? '') + text[++i];
    else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out;
}

/**
 * A Host from a host's merged Ansible vars. Errors and warnings go to `findings` (with the
 * variable's own location); returns undefined when the host cannot be used.
 */
export function hostFromAnsibleVars(
  name: string,
  vars: Vars,
  loc: Loc,
  findings: Finding[],
): Host | undefined {
  let failed = false;
  const say = (
    entry: VarEntry,
    variable: string,
    message: string,
    severity: 'error' | 'warning' = 'error',
  ) => {
    findings.push({ loc: entry.loc, variable, message, severity, host: name });
    if (severity === 'error') failed = true;
  };
  const entryOf = (...keys: string[]): [string, VarEntry] | undefined => {
    for (const key of keys) {
      const e = vars[key];
      if (e && e.value !== undefined && e.value !== null) return [key, e];
    }
    return undefined;
  };
  /** A connection value as text: vault and Jinja values are refused. */
  const text = (...keys: string[]): { value: string; entry: VarEntry; key: string } | undefined => {
    const found = entryOf(...keys);
    if (!found) return undefined;
    const [key, entry] = found;
    if (entry.vault) {
      say(
        entry,
        key,
        `${key} of ${name} is encrypted with ansible-vault: cutover does not decrypt it. Set it in plain text for cutover, or ${vaultWayOut(key)}`,
      );
      return undefined;
    }
    const value = typeof entry.value === 'object' ? JSON.stringify(entry.value) : String(entry.value);
    if (value.includes('{{') || value.includes('{%')) {
      say(
        entry,
        key,
        `${key} of ${name} is a Jinja template (${value}): cutover does not evaluate Jinja in connection variables; write the value itself`,
      );
      return undefined;
    }
    return { value, entry, key };
  };
  const bool = (key: string): boolean | undefined => {
    const t = text(key);
    if (!t) return undefined;
    const v = t.value.toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    say(t.entry, key, `${key} of ${name} must be true or false, found "${t.value}"`);
    return undefined;
  };

  const portText = text('ansible_port', 'ansible_ssh_port');
  let port: number | undefined;
  if (portText) {
    port = Number(portText.value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      say(
        portText.entry,
        portText.key,
        `${portText.key} of ${name} must be a port number (1-65535), found "${portText.value}"`,
      );
      port = undefined;
    }
  }
  const address = text('ansible_host', 'ansible_ssh_host');
  if (address?.value.startsWith('-'))
    say(
      address.entry,
      address.key,
      `${address.key} of ${name} ("${address.value}") begins with "-", which ssh would read as an option: write the host's address`,
    );
  const user = text('ansible_user', 'ansible_ssh_user');
  if (user?.value.startsWith('-'))
    say(
      user.entry,
      user.key,
      `${user.key} of ${name} ("${user.value}") begins with "-", which ssh would read as an option: write the login name`,
    );

  const sshOptions: Record<string, string> = {};
  const key = text('ansible_ssh_private_key_file', 'ansible_private_key_file');
  if (key) sshOptions.IdentityFile = key.value;
  const timeout = text('ansible_timeout', 'ansible_ssh_timeout');
  if (timeout) {
    if (/^\d+$/.test(timeout.value)) sshOptions.ConnectTimeout = timeout.value;
    else
      say(
        timeout.entry,
        timeout.key,
        `${timeout.key} of ${name} must be a number of seconds, found "${timeout.value}"`,
      );
  }
  for (const argsKey of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
    const args = text(argsKey);
    if (args)
      readSshArgs(args.value, sshOptions, (word) =>
        say(
          args.entry,
          argsKey,
          `${argsKey} of ${name}: cutover does not honour "${word}" (it reads -o Option=value, -J, -i, -A and -C there)`,
          'warning',
        ),
      );
  }

  const connection = text('ansible_connection');
  let transport: Host['transport'] = 'ssh';
  if (connection) {
    if (connection.value === 'local') transport = 'local';
    else if (connection.value === 'paramiko')
      say(
        connection.entry,
        'ansible_connection',
        `ansible_connection=paramiko of ${name}: cutover connects with the OpenSSH client instead`,
        'warning',
      );
    else if (!['ssh', 'smart'].includes(connection.value))
      say(
        connection.entry,
        'ansible_connection',
        `ansible_connection=${connection.value} of ${name} is not supported: cutover connects with ssh or local`,
      );
  }

  let become: Become | undefined;
  const becomeOn = bool('ansible_become');
  const becomeUser = text('ansible_become_user');
  const method = text('ansible_become_method');
  if (method && method.value !== 'sudo')
    say(
      method.entry,
      'ansible_become_method',
      `ansible_become_method=${method.value} of ${name} is not supported: cutover escalates with sudo only; use sudo on this host`,
    );
  if (becomeOn) become = { user: becomeUser?.value ?? 'root', method: 'sudo' };
  else if (becomeUser)
    say(
      becomeUser.entry,
      'ansible_become_user',
      `ansible_become_user=${becomeUser.value} of ${name} has no effect: ansible_become is not true for this host (Ansible plays often set become themselves); set ansible_become=true to run as ${becomeUser.value} through sudo`,
      'warning',
    );
  for (const k of ['ansible_become_password', 'ansible_become_pass', 'ansible_sudo_pass']) {
    const e = vars[k];
    if (e)
      say(
        e,
        k,
        `${k} of ${name} is in the inventory: cutover never reads a sudo password from an inventory. Remove it and give the password to cutover with ${BECOME_PASSWORD_SOURCES}`,
      );
  }
  for (const k of ['ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password'])
    if (vars[k])
      say(
        vars[k],
        k,
        `${k} of ${name} is not used: cutover logs in with keys only (BatchMode); use a key or the agent`,
        'warning',
      );
  for (const k of ['ansible_host_key_checking', 'ansible_ssh_host_key_checking'])
    if (vars[k] && bool(k) === false)
      say(
        vars[k],
        k,
        `${k}=false of ${name} is not honoured: cutover never turns host key checking off; add the host's key to known_hosts`,
        'warning',
      );

  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(vars)) {
    if (k.startsWith('ansible_')) {
      if (!HONOURED.has(k) && !IGNORED.has(k))
        say(
          e,
          k,
          `${k} of ${name} is not honoured by cutover (see \`cutover docs\`, Ansible inventories)`,
          'warning',
        );
      continue;
    }
    if (e.vault) {
      say(
        e,
        k,
        `${k} of ${name} is encrypted with ansible-vault: cutover does not decrypt it and leaves it out of host.vars (never the ciphertext). If a step needs it, ${vaultWayOut(k)}`,
        'warning',
      );
      continue;
    }
    out[k] = e.value;
  }
  if (failed) return undefined;
  return {
    name,
    address: address?.value ?? name,
    ...(port !== undefined ? { port } : {}),
    ...(user ? { user: user.value } : {}),
    roles: [],
    vars: out,
    sshOptions,
    transport,
    ...(become ? { become } : {}),
    loc,
  };
}

/** Reads ssh command-line words into `-o` options; calls `unknown` for a word cutover does not honour. */
function readSshArgs(args: string, options: Record<string, string>, unknown: (word: string) => void): void {
  const words = shellWords(args);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const value = (flag: string): string | undefined =>
      word === flag ? words[++i] : word.slice(flag.length);
    if (word.startsWith('-o')) {
      const option = value('-o') ?? '';
      const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=|\s)\s*(.*)$/s.exec(option);
      if (m) options[m[1] as string] = m[2] as string;
      else unknown(`${word} ${option}`.trim());
    } else if (word.startsWith('-J')) options.ProxyJump = value('-J') ?? '';
    else if (word.startsWith('-i')) options.IdentityFile = value('-i') ?? '';
    else if (word === '-A') options.ForwardAgent = 'yes';
    else if (word === '-C') options.Compression = 'yes';
    else if (word === '-q' || word === '-T') continue;
    else unknown(word);
  }
}
