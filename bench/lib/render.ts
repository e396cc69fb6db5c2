/**
 * The files a benchmark runs, as pure text functions: one Ansible INI inventory that both
 * cutover and Ansible read (so both use the same hosts, key, known_hosts and ssh options),
 * cutover runbooks, the equivalent Ansible playbooks, the OpenSSH floor script, and the
 * Ansible callback that timestamps task results.
 */
import { stringify } from 'yaml';
import { quote } from '../../src/shell/quote.js';

/** A lab host. Example: `{ name: 'node1', address: '127.0.60.10' }`. */
export interface BenchHost {
  name: string;
  address: string;
}

/** How to log in to the lab hosts: the lab's key and known_hosts. Example: `{ key: '.lab/x/id_ed25519', knownHosts: '.lab/x/known_hosts' }`. */
export interface LabAccess {
  key: string;
  knownHosts: string;
}

/** The ssh options every benchmark uses, as `-o` pairs (cutover's inventory gets the same). Example: sshOptions(access)[2] -> ['StrictHostKeyChecking', 'yes']. */
export function sshOptions(access: LabAccess): [string, string][] {
  return [
    ['UserKnownHostsFile', access.knownHosts],
    ['GlobalKnownHostsFile', '/dev/null'],
    ['StrictHostKeyChecking', 'yes'],
    ['IdentitiesOnly', 'yes'],
  ];
}

/**
 * An Ansible INI inventory of the hosts in group `bench`, read by Ansible and by cutover alike.
 * Example: iniInventory([{ name: 'node1', address: '127.0.60.10' }], access) -> '[bench]\nnode1 ansible_host=127.0.60.10\n...'.
 */
export function iniInventory(hosts: readonly BenchHost[], access: LabAccess): string {
  for (const p of [access.key, access.knownHosts]) {
    if (/\s|'/.test(p))
      throw new Error(
        `lab path "${p}" has a space or quote, which INI ssh args cannot carry; use a lab folder without them`,
      );
  }
  const args = sshOptions(access)
    .map(([k, v]) => `-o ${k}=${v}`)
    .join(' ');
  return [
    '# Written by bench/: the lab hosts for cutover and Ansible alike (same key, known_hosts, ssh options).',
    '[bench]',
    ...hosts.map((h) => `${h.name} ansible_host=${h.address}`),
    '',
    '[bench:vars]',
    'ansible_user=root',
    `ansible_ssh_private_key_file=${access.key}`,
    `ansible_ssh_common_args='${args}'`,
    // Hosts share the controller's /usr, so Debian's python3 is there.
    'ansible_python_interpreter=/usr/bin/python3',
    '',
  ].join('\n');
}

const header = (what: string) => `# Written by bench/: ${what}\n`;

/**
 * A cutover runbook of `steps` `shell.run true` steps on every host, `serial` hosts at a time.
 * Example: stepsRunbook(20, 1) has 20 steps s1..s20 with `rolling: { serial: 1 }`;
 * stepsRunbook(1, 10, 'window') one step with `rolling: { window: 10 }` (a pool, not batches).
 */
export function stepsRunbook(steps: number, serial: number, mode: 'serial' | 'window' = 'serial'): string {
  return (
    header(`${steps} shell.run steps, rolling ${mode} ${serial}.`) +
    stringify({
      name: `bench-${steps}-steps-${mode}-${serial}`,
      phases: [
        {
          id: 'steps',
          hosts: 'all',
          rolling: { [mode]: serial },
          steps: Array.from({ length: steps }, (_, i) => ({
            id: `s${i + 1}`,
            'shell.run': { command: 'true' },
          })),
        },
      ],
    })
  );
}

/**
 * The Ansible playbook doing what stepsRunbook does: `steps` shell tasks, facts not gathered
 * (cutover gathers none), every host at once (Ansible's linear strategy) or `serial` hosts at a time.
 * Example: stepsPlaybook(20, 1) -> a play with `serial: 1` and tasks s1..s20.
 */
export function stepsPlaybook(steps: number, serial?: number): string {
  return (
    header(`${steps} shell tasks${serial ? `, serial ${serial}` : ''}.`) +
    stringify([
      {
        name: 'bench steps',
        hosts: 'bench',
        gather_facts: false,
        ...(serial ? { serial } : {}),
        tasks: Array.from({ length: steps }, (_, i) => ({
          name: `s${i + 1}`,
          'ansible.builtin.shell': 'true',
        })),
      },
    ])
  );
}

/** One log line a writer appends: its id and the time it was written (ns since the epoch). */
export const WRITTEN_LINE = /^bench-(\d+) READY (\d{19})$/;

/**
 * The command a trigger step runs: a detached writer that appends `bench-<id> READY <ns>` to
 * `file` after `delayMs`, stamping the moment it writes. Example: writerCommand('/var/log/b.log', 3, 450).
 */
export function writerCommand(file: string, id: number, delayMs: number): string {
  const inner = `sleep ${(delayMs / 1000).toFixed(3)}; echo "bench-${id} READY $(date +%s%N)" >> ${quote(file)}`;
  return `setsid -f sh -c ${quote(inner)} </dev/null >/dev/null 2>&1`;
}

/**
 * Starts the log afresh with one line: ids repeat from run to run, and Ansible 2.14's wait_for
 * fails on an empty file ("cannot mmap an empty file"). Example: resetCommand('/var/log/b/w.log').
 */
export function resetCommand(file: string): string {
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  return `mkdir -p ${quote(dir)} && echo 'bench: log started' > ${quote(file)}`;
}

/** One appended line of a log-wait benchmark. Example: `{ id: 1, delayMs: 430 }`. */
export interface LogWaitIteration {
  id: number;
  delayMs: number;
}

/**
 * A runbook on one host that, per iteration, starts a writer and waits with `wait.log` for its line.
 * Example: logWaitRunbook('/var/log/bench/wait.log', [{ id: 1, delayMs: 400 }]) -> steps reset, trigger-1, wait-1.
 */
export function logWaitRunbook(file: string, iterations: readonly LogWaitIteration[]): string {
  return (
    header('log-wait latency: a writer appends a line after a delay, wait.log waits for it.') +
    stringify({
      name: 'bench-log-wait',
      phases: [
        {
          id: 'log-wait',
          hosts: 'all',
          steps: [
            { id: 'reset', 'shell.run': { command: resetCommand(file) } },
            ...iterations.flatMap((it) => [
              { id: `trigger-${it.id}`, 'shell.run': { command: writerCommand(file, it.id, it.delayMs) } },
              {
                id: `wait-${it.id}`,
                'wait.log': { path: file, pattern: `^bench-${it.id} READY ` },
                timeout: '30s',
              },
            ]),
          ],
        },
      ],
    })
  );
}

/**
 * The Ansible playbook doing what logWaitRunbook does, with `wait_for: search_regex` (default
 * poll: every second). Example: logWaitPlaybook('/var/log/bench/wait.log', [{ id: 1, delayMs: 1500 }]).
 */
export function logWaitPlaybook(file: string, iterations: readonly LogWaitIteration[]): string {
  return (
    header('log-wait latency with wait_for search_regex.') +
    stringify([
      {
        name: 'bench log wait',
        hosts: 'bench',
        gather_facts: false,
        tasks: [
          { name: 'reset', 'ansible.builtin.shell': resetCommand(file) },
          ...iterations.flatMap((it) => [
            { name: `trigger-${it.id}`, 'ansible.builtin.shell': writerCommand(file, it.id, it.delayMs) },
            {
              name: `wait-${it.id}`,
              'ansible.builtin.wait_for': {
                path: file,
                search_regex: `bench-${it.id} READY (\\d+)`,
                timeout: 30,
              },
            },
          ]),
        ],
      },
    ])
  );
}

/**
 * The floor: `commands` × `true` per host over plain OpenSSH with one ControlMaster per host
 * (opened and closed inside the script, as cutover does), hosts one after another or all at once.
 * Example: floorScript(hosts, access, 20, 'parallel') -> a bash script.
 */
export function floorScript(
  hosts: readonly BenchHost[],
  access: LabAccess,
  commands: number,
  mode: 'sequential' | 'parallel',
): string {
  const opts = [
    '-o BatchMode=yes',
    `-o IdentityFile=${quote(access.key)}`,
    ...sshOptions(access).map(([k, v]) => `-o ${k}=${quote(v)}`),
    '-l root',
  ].join(' ');
  const calls = hosts.map((h, i) => `host ${quote(h.address)} ${i}${mode === 'parallel' ? ' &' : ''}`);
  return [
    '#!/bin/bash',
    `# Written by bench/: the OpenSSH floor, ${commands} commands per host over one ControlMaster per host, ${mode}.`,
    'set -eu',
    'dir=$(mktemp -d /tmp/cofloor-XXXXXX)',
    `opts=(${opts})`,
    'host() {',
    '  local sock="$dir/$2"',
    `  ssh "\${opts[@]}" -M -f -N -o ControlPath="$sock" "$1"`,
    `  for _ in $(seq ${commands}); do ssh "\${opts[@]}" -o ControlPath="$sock" "$1" true; done`,
    `  ssh "\${opts[@]}" -o ControlPath="$sock" -O exit "$1" 2>/dev/null`,
    '}',
    ...calls,
    ...(mode === 'parallel' ? ['wait'] : []),
    'rm -rf "$dir"',
    '',
  ].join('\n');
}

/**
 * The fan-out floor: one fresh `ssh host true` per host (a full login each, no master), at most
 * `width` at once as a pool (`xargs -P`: the next login starts as soon as one ends), with the same
 * options cutover and Ansible use. Example: poolFloorScript(hosts, access, 10) -> a bash script.
 */
export function poolFloorScript(hosts: readonly BenchHost[], access: LabAccess, width: number): string {
  const opts = [
    '-o BatchMode=yes',
    `-o IdentityFile=${quote(access.key)}`,
    ...sshOptions(access).map(([k, v]) => `-o ${k}=${quote(v)}`),
    '-l root',
  ].join(' ');
  return [
    '#!/bin/bash',
    `# Written by bench/: the fan-out floor, ${hosts.length} fresh logins running \`true\`, ${width} at a time (a pool).`,
    'set -eu',
    `printf '%s\\n' ${hosts.map((h) => quote(h.address)).join(' ')} | xargs -P${width} -I{} ssh ${opts} {} true`,
    '',
  ].join('\n');
}

/**
 * Closes every ControlMaster whose socket is in `dir` (Ansible's ControlPersist keeps them 60 s;
 * each measured run must start without them, as cutover's does). Example: closeMastersScript('/tmp/cp').
 */
export function closeMastersScript(dir: string): string {
  return [
    '#!/bin/sh',
    '# Written by bench/: closes the ssh ControlMasters Ansible left in its control path folder.',
    `for s in ${quote(dir)}/*; do`,
    '  [ -S "$s" ] && ssh -o ControlPath="$s" -O exit bench-host 2>/dev/null',
    'done',
    'true',
    '',
  ].join('\n');
}

/**
 * An Ansible callback plugin (`bench_times`) that appends one JSON line per task start and
 * result to $BENCH_TIMES_FILE: `{ "event": "ok", "task": "wait-1", "host": "node1", "t": 1.7e9, "groups": ["..."] }`.
 */
export const CALLBACK_PLUGIN = `# Written by bench/: timestamps task starts and results for the log-wait benchmark.
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_times'
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, record):
        with open(os.environ['BENCH_TIMES_FILE'], 'a') as f:
            f.write(json.dumps(record) + '\\n')

    def v2_runner_on_start(self, host, task):
        self._write({'event': 'start', 'task': task.get_name(), 'host': host.get_name(), 't': time.time()})

    def v2_runner_on_ok(self, result):
        now = time.time()
        groups = result._result.get('match_groups') or []
        self._write({'event': 'ok', 'task': result._task.get_name(), 'host': result._host.get_name(), 't': now, 'groups': list(groups)})
`;
