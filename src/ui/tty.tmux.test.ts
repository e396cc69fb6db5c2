/**
 * The live terminal view for real: `cutover apply` (the built CLI) in a tmux pane, three local
 * hosts waiting on files the test creates; `capture-pane` must show one line per host while they
 * wait, and the summary table (and no live lines) once the run is over. A gate.confirm asks at
 * the terminal, and the prompt gives way when the dashboard answers first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalEvents } from '../../test/cli.js';
import { controlFile, sendControl } from '../state/index.js';
import { quote } from '../shell/quote.js';

const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'cutover.js');
const HOSTS = ['alpha', 'beta', 'gamma'];
const SOCKET = `cutover-ui-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

/** Polls the pane until `check` accepts it (returns its lines), or fails with what it last showed. */
async function paneUntil(
  what: string,
  check: (lines: string[]) => boolean,
  opts: { escapes?: boolean; session?: string } = {},
) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const target = opts.session ?? 'ui';
    const lines = tmux('capture-pane', '-p', ...(opts.escapes ? ['-e'] : []), '-t', target).split('\n');
    if (check(lines)) return lines;
    if (Date.now() > deadline) throw new Error(`the pane never showed ${what}:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A live host line: an icon, the host, its done/total count. */
const liveLine = (host: string) => new RegExp(`^\\S ${host} +\\d+/\\d+  `);

describe('live progress in a terminal (tmux)', () => {
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone.
    }
  });

  it('shows one line per host with its step, elapsed time and wait; then the summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-tmux-'));
    writeFileSync(
      join(dir, 'inventory.yml'),
      `cluster: tmux-test\nhosts:\n${HOSTS.map((h) => `  ${h}: { address: 127.0.0.1, transport: local }`).join('\n')}\n`,
    );
    writeFileSync(
      join(dir, 'runbook.yml'),
      [
        'name: tmux',
        'phases:',
        '  - id: roll',
        '    hosts: all',
        '    rolling: { serial: 3 }',
        '    steps:',
        '      - id: hello',
        '        shell.run: { command: "echo hello from {{ host.name }}" }',
        '      - id: wait-ready',
        `        wait.file: { path: "${dir}/ready-{{ host.name }}", state: present }`,
        '        timeout: 2m',
        '',
      ].join('\n'),
    );
    const command = [
      'env',
      'NO_COLOR=1',
      process.execPath,
      BIN,
      '--state-dir',
      join(dir, 'state'),
      'apply',
      '-r',
      join(dir, 'runbook.yml'),
      '-i',
      join(dir, 'inventory.yml'),
      '--yes',
    ]
      .map((w) => quote(w))
      .join(' ');
    tmux('new-session', '-d', '-s', 'ui', '-x', '150', '-y', '30', `${command}; echo EXIT=$?; sleep 600`);

    const waiting = await paneUntil('every host waiting', (lines) =>
      HOSTS.every((h) => lines.some((l) => liveLine(h).test(l) && l.includes('to exist'))),
    );
    for (const host of HOSTS) {
      const mine = waiting.filter((l) => liveLine(host).test(l));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatch(
        new RegExp(
          `^\\S ${host} +1/2  roll/wait-ready \\[wait\\.file\\] [\\d.]+m?s  waiting for .*/ready-${host} to exist$`,
        ),
      );
    }
    // Done steps collapse: no line per succeeded step.
    expect(waiting.filter((l) => l.includes('roll/hello'))).toEqual([]);
    // NO_COLOR: no colour codes, though the view still redraws in place.
    const raw = await paneUntil(
      'the live view with escapes',
      (lines) => lines.some((l) => l.includes('to exist')),
      {
        escapes: true,
      },
    );
    expect(raw.join('\n')).not.toMatch(/\x1b\[(3\d|9\d|1|2)(;\d+)*m/);

    for (const host of HOSTS) writeFileSync(join(dir, `ready-${host}`), '');
    const done = await paneUntil('the end of the run', (lines) => lines.some((l) => l.startsWith('EXIT=')));
    expect(done).toContain('EXIT=0');
    const table = done.findIndex((l) => l.startsWith('host ') && l.includes('outcome'));
    expect(table).toBeGreaterThan(0);
    for (const host of HOSTS) {
      expect(done.filter((l) => liveLine(host).test(l))).toEqual([]);
      expect(done.slice(table + 1)).toContainEqual(
        expect.stringMatching(new RegExp(`^${host} +succeeded +[\\d.]+m?s +2/2 +0 +0$`)),
      );
    }
  });

  describe('a gate at the terminal', () => {
    /** Starts `apply` of a one-gate runbook in its own tmux session; returns the state folder. */
    function applyWithGate(session: string): string {
      const dir = mkdtempSync(join(tmpdir(), 'cutover-tmux-gate-'));
      writeFileSync(
        join(dir, 'inventory.yml'),
        'cluster: tmux-gate\nhosts:\n  web: { address: 127.0.0.1, transport: local }\n',
      );
      writeFileSync(
        join(dir, 'runbook.yml'),
        [
          'name: gate',
          'phases:',
          '  - id: up',
          '    hosts: all',
          '    steps:',
          '      - id: check',
          '        gate.confirm: { message: "Is web fine?" }',
          '      - id: after',
          '        shell.run: { command: "echo approved" }',
          '',
        ].join('\n'),
      );
      const command = [
        process.execPath,
        BIN,
        '--state-dir',
        join(dir, 'state'),
        'apply',
        '-r',
        join(dir, 'runbook.yml'),
        '-i',
        join(dir, 'inventory.yml'),
        '--yes',
      ]
        .map((w) => quote(w))
        .join(' ');
      tmux(
        'new-session',
        '-d',
        '-s',
        session,
        '-x',
        '150',
        '-y',
        '30',
        `${command}; echo EXIT=$?; sleep 600`,
      );
      return join(dir, 'state');
    }

    const decidedBy = (state: string) => {
      const run = readdirSync(join(state, 'runs'))[0] as string;
      return journalEvents(state, run).find((e) => e.type === 'gate.decided');
    };

    it('asks at the terminal and the answer decides', async () => {
      const state = applyWithGate('prompt');
      await paneUntil(
        'the prompt',
        (lines) => lines.some((l) => l.includes('[web] Is web fine? Approve? [y/N]')),
        {
          session: 'prompt',
        },
      );
      tmux('send-keys', '-t', 'prompt', 'y', 'Enter');
      const done = await paneUntil('the end', (lines) => lines.some((l) => l.startsWith('EXIT=')), {
        session: 'prompt',
      });
      expect(done).toContain('EXIT=0');
      expect(decidedBy(state)).toMatchObject({
        approved: true,
        by: process.env.CUTOVER_OPERATOR ?? userInfo().username,
      });
    });

    it('withdraws the prompt when the dashboard answers first', async () => {
      const state = applyWithGate('remote');
      await paneUntil('the prompt', (lines) => lines.some((l) => l.includes('Approve? [y/N]')), {
        session: 'remote',
      });
      const run = readdirSync(join(state, 'runs'))[0] as string;
      const pending = journalEvents(state, run).find((e) => e.type === 'gate.pending');
      // What the dashboard's Approve button does.
      sendControl(controlFile(state, run), {
        type: 'gate',
        gateSeq: pending?.seq as number,
        step: 'up/check@web',
        host: 'web',
        approved: true,
        by: 'dashboard (127.0.0.1)',
      });
      const done = await paneUntil('the end', (lines) => lines.some((l) => l.startsWith('EXIT=')), {
        session: 'remote',
      });
      expect(done).toContain('EXIT=0');
      expect(done.some((l) => l.includes('Approve? [y/N]  (answered elsewhere)'))).toBe(true);
      expect(decidedBy(state)).toMatchObject({ approved: true, by: 'dashboard (127.0.0.1)' });
    });
  });
});
