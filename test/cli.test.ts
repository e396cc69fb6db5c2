/**
 * The CLI as an operator uses it: exit codes, file:line:col errors, the lock, quoting and
 * secret redaction, on the controller itself (`transport: local`), with no mocks.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutover, runIdFrom } from './cli.js';

function workspace(
  runbook: string,
  inventory = LOCAL_INVENTORY,
): { dir: string; runbook: string; inventory: string; state: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-cli-'));
  writeFileSync(join(dir, 'runbook.yml'), runbook);
  writeFileSync(join(dir, 'inventory.yml'), inventory);
  return {
    dir,
    runbook: join(dir, 'runbook.yml'),
    inventory: join(dir, 'inventory.yml'),
    state: join(dir, 'state'),
  };
}

const LOCAL_INVENTORY = `cluster: local-test
hosts:
  ctl: { address: 127.0.0.1, transport: local, roles: [app] }
`;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Writes the local-test cluster's lock as held by alice's run in process `pid` on this machine; returns the file. */
function lockedBy(state: string, pid: number): string {
  const file = join(state, 'locks', 'local-test.json');
  mkdirSync(join(state, 'locks'), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({
      owner: 'alice',
      runId: '20261122-010101-abcd',
      pid,
      hostname: hostname(),
      acquiredAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    }),
  );
  return file;
}

describe('cutover CLI', () => {
  it('validate reports a wrong type, an unknown kind, an unknown role and a malformed line at once, exit 2', async () => {
    const ws = workspace(
      [
        'name: broken',
        'phases:',
        '  - name: up',
        '    hosts: { roles: [databse] }',
        '    rolling: { serial: "two" }',
        '    steps:',
        '      - sevice.stop: { unit: nginx }',
        '      - shell.run: { command: "echo ok" ',
        '',
      ].join('\n'),
    );
    const res = await cutover(['validate', '-r', ws.runbook, '-i', ws.inventory]);
    expect(res.code).toBe(2);
    const lines = res.stderr.split('\n').filter((l) => l.startsWith(ws.runbook));
    for (const line of lines) expect(line).toMatch(/^\/.+runbook\.yml:\d+:\d+: /);
    expect(res.stderr).toMatch(/runbook\.yml:8:\d+: .*(flow|close|missing|unexpected|end)/i);
    expect(res.stderr).toMatch(/runbook\.yml:5:\d+: phases\/0\/rolling\/serial: /);
    expect(res.stderr).toMatch(
      /runbook\.yml:7:\d+: phases\/0\/steps\/0.*unknown step kind "sevice\.stop".*service\.stop/,
    );
    expect(res.stderr).toMatch(/runbook\.yml:4:\d+: phases\/0\/hosts\/roles\/0: .*databse/);
    expect(res.stderr).toContain('nothing was changed');
  });

  it('apply on a locked cluster exits 3 and names the holder', async () => {
    const ws = workspace(
      'name: ok\nphases:\n  - name: p\n    hosts: all\n    steps:\n      - shell.run: { command: "true" }\n',
    );
    const holder = spawn('sleep', ['30']);
    try {
      lockedBy(ws.state, holder.pid as number);
      const res = await cutover([
        '--state-dir',
        ws.state,
        'apply',
        '-r',
        ws.runbook,
        '-i',
        ws.inventory,
        '--yes',
      ]);
      expect(res.code).toBe(3);
      expect(res.stderr).toMatch(/locked by alice \(run 20261122-010101-abcd, pid \d+/);
      expect(res.stderr).toContain('cutover unlock --force');
      expect(existsSync(join(ws.state, 'runs'))).toBe(false);
    } finally {
      holder.kill();
    }
  });

  it('unlock --force never breaks the lease of a run still alive on this machine', async () => {
    const ws = workspace(
      'name: ok\nphases:\n  - name: p\n    hosts: all\n    steps:\n      - shell.run: { command: "true" }\n',
    );
    // A live process whose command line says cutover, as a running `cutover apply` does.
    const holder = spawn('sh', ['-c', 'sleep 30', 'cutover-apply']);
    const lockFile = lockedBy(ws.state, holder.pid as number);
    try {
      const refused = await cutover([
        '--state-dir',
        ws.state,
        'unlock',
        '--cluster',
        'local-test',
        '--force',
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        `still alive on this machine: alice, run 20261122-010101-abcd, pid ${holder.pid}`,
      );
      expect(existsSync(lockFile)).toBe(true);
    } finally {
      const gone = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await gone;
    }
    const broken = await cutover(['--state-dir', ws.state, 'unlock', '--cluster', 'local-test', '--force']);
    expect(broken.code).toBe(0);
    expect(broken.stdout).toContain('lock of cluster local-test broken (was held by alice');
    expect(existsSync(lockFile)).toBe(false);
  });

  it('a hostile param stays one word: nothing is injected', async () => {
    const ws = workspace(
      [
        'name: quoting',
        'params:',
        '  instance: { type: string, required: true }',
        'phases:',
        '  - name: p',
        '    hosts: all',
        '    steps:',
        '      - id: greet',
        // As a word, inside a word, inside the author's '…' and inside the author's "…".
        '        shell.run: { command: "printf \'<%s>\\\\n\' {{ params.instance }} instance-{{ params.instance }} \'[{{ params.instance }}]\' \\"({{ params.instance }})\\"" }',
        '',
      ].join('\n'),
    );
    const marker = join(ws.dir, 'pwned');
    const hostile = `x; touch ${marker}; echo $(touch ${marker}) \`touch ${marker}\` '"`;
    const res = await cutover([
      '--state-dir',
      ws.state,
      'apply',
      '-r',
      ws.runbook,
      '-i',
      ws.inventory,
      '-p',
      `instance=${hostile}`,
      '--yes',
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(res.stdout).toContain(`<${hostile}>`);
    expect(res.stdout).toContain(`<instance-${hostile}>`);
    expect(res.stdout).toContain(`<[${hostile}]>`);
    expect(res.stdout).toContain(`<(${hostile})>`);
  });

  it('--help lists every command; --version prints the version', async () => {
    const help = await cutover(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['validate', 'plan', 'apply', 'resume', 'rollback', 'runs', 'status', 'docs'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(help.stdout).toContain('Exit codes');
    const version = await cutover(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('never prints or journals a secret value, even when a command echoes it', async () => {
    const secret = 'S3cr3t-Value-42';
    const ws = workspace(
      [
        'name: secrets',
        'secrets:',
        '  token: { from: [ { env: CLI_TEST_TOKEN } ] }',
        'phases:',
        '  - name: p',
        '    hosts: all',
        '    steps:',
        '      - id: show',
        '        shell.run: { command: "echo token is {{ secrets.token }}; echo also $TOKEN >&2", env: { TOKEN: "{{ secrets.token }}" } }',
        '      - id: fail',
        '        shell.run: { command: "echo failing with {{ secrets.token }} >&2; exit 3" }',
        '',
      ].join('\n'),
    );
    const env = { CLI_TEST_TOKEN: secret };
    const plan = await cutover(['plan', '-r', ws.runbook, '-i', ws.inventory], { env });
    const run = await cutover(
      ['--state-dir', ws.state, 'apply', '-r', ws.runbook, '-i', ws.inventory, '--yes'],
      { env },
    );
    expect(run.code).toBe(1);
    const runId = runIdFrom(run.stdout);
    const json = await cutover(['--state-dir', ws.state, '--json', 'status', runId], { env });
    const texts = [
      plan.stdout,
      plan.stderr,
      run.stdout,
      run.stderr,
      json.stdout,
      ...filesUnder(ws.state).map((f) => readFileSync(f, 'utf8')),
    ];
    expect(run.stdout).toContain('token is <secret:token>');
    expect(run.stdout).toContain('also <secret:token>');
    for (const text of texts) expect(text).not.toContain(secret);
  });

  it('--json prints one event per line; the plain log has no control codes', async () => {
    const ws = workspace(
      'name: ok\nphases:\n  - name: p\n    hosts: all\n    steps:\n      - shell.run: { command: "echo hello" }\n',
    );
    const json = await cutover([
      '--state-dir',
      ws.state,
      '--json',
      'apply',
      '-r',
      ws.runbook,
      '-i',
      ws.inventory,
      '--yes',
    ]);
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe('run.started');
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'succeeded' });
    const plain = await cutover([
      '--state-dir',
      ws.state,
      'apply',
      '-r',
      ws.runbook,
      '-i',
      ws.inventory,
      '--yes',
    ]);
    expect(plain.stdout).toMatch(/^\d\d:\d\d:\d\d ctl +\| hello$/m);
    expect(plain.stdout).not.toMatch(/\x1b\[/);
    const runs = await cutover(['--state-dir', ws.state, 'runs']);
    expect(runs.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('refuses to start without --yes when nobody can answer, and changes nothing', async () => {
    const ws = workspace(
      'name: ok\nphases:\n  - name: p\n    hosts: all\n    steps:\n      - shell.run: { command: "touch done" }\n',
    );
    const res = await cutover(['--state-dir', ws.state, 'apply', '-r', ws.runbook, '-i', ws.inventory], {
      cwd: ws.dir,
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--yes');
    expect(existsSync(join(ws.dir, 'done'))).toBe(false);
  });
});
