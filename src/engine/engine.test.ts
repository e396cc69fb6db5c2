import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StepFailedError } from '../errors.js';
import { FileJournal, MemoryJournal } from '../journal/file-store.js';
import { replay } from '../journal/replay.js';
import { fakeInventory, planFixture } from '../testing/plan-fixture.js';
import { RecordingTransport } from '../transport/recording.js';
import { FakeClock } from '../actions/clock.js';
import { ResumeBlocked } from './engine.js';
import { crashAfterStart, engineFor } from '../testing/engine-fixture.js';

const RUNBOOK = `
name: demo
phases:
  - id: up
    name: upgrade
    hosts: { roles: [app] }
    rolling: { serial: 1 }
    steps:
      - id: one
        shell.run: { command: "echo one", undo: "echo undo-one" }
      - id: two
        shell.run: { command: "echo two", undo: "echo undo-two" }
      - id: three
        shell.run: { command: "echo three" }
`;

/** The scripts run on each host, in global order, as `host: script`. */
function timeline(rec: RecordingTransport): string[] {
  return rec.calls
    .filter((c) => c.type === 'exec')
    .map((c) => `${c.host}: ${(c as { script: string }).script}`);
}

describe('engine', () => {
  it('runs hosts one after another with serial 1, steps in order', async () => {
    const fx = await planFixture(RUNBOOK, fakeInventory(['a', 'b', 'c']));
    const rec = new RecordingTransport();
    const journal = new MemoryJournal();
    await engineFor(fx, rec, journal).apply();
    expect(timeline(rec)).toEqual([
      'a: echo one',
      'a: echo two',
      'a: echo three',
      'b: echo one',
      'b: echo two',
      'b: echo three',
      'c: echo one',
      'c: echo two',
      'c: echo three',
    ]);
    expect(replay(journal.read('r1')).outcome).toBe('succeeded');
  });

  it('on a failure on host 2 undoes host 2 in reverse and never touches host 3', async () => {
    const fx = await planFixture(RUNBOOK, fakeInventory(['a', 'b', 'c']));
    const rec = new RecordingTransport().fail('b', 'echo three', { code: 1, stderr: 'disk full' });
    const journal = new MemoryJournal();
    const run = engineFor(fx, rec, journal).apply();
    await expect(run).rejects.toBeInstanceOf(StepFailedError);
    await expect(run).rejects.toThrow(/up\/three@b: command `echo three` exited 1: disk full/);
    expect(timeline(rec)).toEqual([
      'a: echo one',
      'a: echo two',
      'a: echo three',
      'b: echo one',
      'b: echo two',
      'b: echo three',
      'b: echo undo-two',
      'b: echo undo-one',
    ]);
    const state = replay(journal.read('r1'));
    expect(state.outcome).toBe('failed');
    expect(state.steps.get('up/one@b')?.status).toBe('compensated');
    expect(state.steps.get('up/one@a')?.status).toBe('succeeded');
    expect(state.steps.get('up/one@c')?.status).toBe('pending');
  });

  it('retries a step on virtual time, then succeeds', async () => {
    const fx = await planFixture(
      `
name: retry
phases:
  - name: p
    hosts: all
    steps:
      - id: flaky
        shell.run: { command: "probe-service" }
        retries: 2
        retry_delay: 5m
`,
      fakeInventory(['a']),
    );
    const clock = new FakeClock();
    const start = clock.now();
    const rec = new RecordingTransport().respond('a', 'probe-service', { code: 1 }, { times: 2 });
    await engineFor(fx, rec, new MemoryJournal(), { clock }).apply();
    expect(timeline(rec)).toEqual(['a: probe-service', 'a: probe-service', 'a: probe-service']);
    expect(clock.now() - start).toBeGreaterThanOrEqual(10 * 60_000);
  });

  it('after a controller crash mid-step, resume re-probes that step instead of re-running it', async () => {
    const fx = await planFixture(
      `
name: crash
phases:
  - name: p
    hosts: all
    steps:
      - id: install
        shell.run: { command: "install-v2", creates: /opt/app/v2 }
      - id: restart
        shell.run: { command: "restart-app" }
`,
      fakeInventory(['a', 'b']),
    );
    const journal = new MemoryJournal();
    // The controller "dies" right after journaling that install started on b: nothing more is written.
    const dying = crashAfterStart(journal, 'p/install@b');
    await expect(engineFor(fx, new RecordingTransport(), dying).apply()).rejects.toThrow('controller killed');
    expect(replay(journal.read('r1')).steps.get('p/install@b')?.status).toBe('running');

    // On b the install had in fact finished: its probe (creates) says so.
    const rec = new RecordingTransport().respond('b', 'test -e /opt/app/v2', { code: 0 });
    await engineFor(fx, rec, journal).resume();
    expect(timeline(rec)).toEqual(['b: test -e /opt/app/v2', 'b: restart-app']);
    const state = replay(journal.read('r1'));
    expect(state.steps.get('p/install@b')?.via).toBe('probe');
    expect(state.outcome).toBe('succeeded');
  });

  it('re-applies an interrupted step whose probe says it is not done, and refuses one it cannot probe', async () => {
    const fx = await planFixture(
      `
name: crash2
phases:
  - name: p
    hosts: all
    steps:
      - id: install
        shell.run: { command: "install-v2", creates: /opt/app/v2 }
      - id: migrate
        shell.run: { command: "migrate-db" }
`,
      fakeInventory(['a']),
    );
    const journal = new MemoryJournal();
    const crashAt = (step: string) => crashAfterStart(journal, step);
    await expect(engineFor(fx, new RecordingTransport(), crashAt('p/install@a')).apply()).rejects.toThrow(
      'killed',
    );
    const rec = new RecordingTransport().respond('a', /^test -e \/opt\/app\/v2$/, { code: 1 });
    await expect(engineFor(fx, rec, crashAt('p/migrate@a')).resume()).rejects.toThrow('killed');
    // The probe said "not done", so install ran again; the controller then died as migrate started.
    expect(timeline(rec)).toEqual(['a: test -e /opt/app/v2', expect.stringContaining('install-v2')]);

    const rec2 = new RecordingTransport();
    const blocked = engineFor(fx, rec2, journal).resume();
    await expect(blocked).rejects.toBeInstanceOf(ResumeBlocked);
    const error = (await blocked.catch((e) => e)) as ResumeBlocked;
    expect(error.describe()).toMatch(/--rerun p\/migrate@a .*--mark-done p\/migrate@a/);
    expect(timeline(rec2)).toEqual([]);
  });

  it('lists every interrupted step it cannot decide at once, and re-runs the ones safe to re-run without asking', async () => {
    const fx = await planFixture(
      `
name: crash4
phases:
  - name: p
    hosts: all
    rolling: { serial: 2 }
    steps:
      - id: check
        shell.run: { command: "app-status", readonly: true }
      - id: config
        yaml.edit: { file: /etc/app.yml, set: { mode: new } }
      - id: migrate
        shell.run: { command: "migrate-db" }
`,
      fakeInventory(['a', 'b']),
    );
    const journal = new MemoryJournal();
    const started = (step: string) =>
      journal.read('r1').some((e) => e.type === 'step.started' && e.step === step);
    // The controller dies once both hosts have begun migrate: two steps no probe can decide.
    const dying = {
      append: (run: string, e: Parameters<MemoryJournal['append']>[1]) => {
        if (started('p/migrate@a') && started('p/migrate@b')) throw new Error('controller killed');
        return journal.append(run, e);
      },
      read: (run: string) => journal.read(run),
      listRuns: () => journal.listRuns(),
    };
    const rec = new RecordingTransport();
    for (const h of ['a', 'b']) rec.setFile(h, '/etc/app.yml', 'mode: old\n');
    await expect(engineFor(fx, rec, dying).apply()).rejects.toThrow('killed');

    const rec2 = new RecordingTransport();
    const blocked = (await engineFor(fx, rec2, journal)
      .resume()
      .catch((e) => e)) as ResumeBlocked;
    expect(blocked).toBeInstanceOf(ResumeBlocked);
    expect(blocked.describe()).toMatch(
      /2 interrupted steps cannot be checked by a probe: p\/migrate@(a|b) \(shell\.run\), p\/migrate@(a|b) \(shell\.run\)/,
    );
    expect(blocked.describe()).toContain('--rerun p/migrate@a');
    expect(blocked.describe()).toContain('--rerun p/migrate@b');
    expect(timeline(rec2)).toEqual([]);
    expect(journal.read('r1').at(-1)?.type).not.toBe('run.resumed');

    // Decided for both: the run goes on.
    const rec3 = new RecordingTransport();
    for (const h of ['a', 'b']) rec3.setFile(h, '/etc/app.yml', 'mode: new\n');
    await engineFor(fx, rec3, journal, {
      rerun: new Set(['p/migrate@a']),
      markDone: new Set(['p/migrate@b']),
    }).resume();
    expect(timeline(rec3).filter((l) => l.includes('migrate-db'))).toEqual(['a: migrate-db']);
    expect(replay(journal.read('r1')).outcome).toBe('succeeded');
  });

  it('re-runs an interrupted read-only script or edit on resume without flags', async () => {
    const fx = await planFixture(
      `
name: crash5
phases:
  - name: p
    hosts: all
    steps:
      - id: check
        shell.run: { command: "app-status", readonly: true }
      - id: config
        yaml.edit: { file: /etc/app.yml, set: { mode: new } }
      - id: unpack
        archive.extract: { archive: /home/app.tar, dest: /home }
`,
      fakeInventory(['a']),
    );
    for (const step of ['p/check@a', 'p/config@a', 'p/unpack@a']) {
      const journal = new MemoryJournal();
      const rec = new RecordingTransport();
      rec.setFile('a', '/etc/app.yml', 'mode: old\n');
      await expect(engineFor(fx, rec, crashAfterStart(journal, step)).apply()).rejects.toThrow('killed');
      const rec2 = new RecordingTransport();
      rec2.setFile('a', '/etc/app.yml', 'mode: old\n');
      await engineFor(fx, rec2, journal).resume();
      expect(replay(journal.read('r1')).outcome, step).toBe('succeeded');
      // Only the interrupted step and those after it ran again (rec2 is this resume's host).
      if (step === 'p/config@a') expect(rec2.file('a', '/etc/app.yml')?.toString(), step).toBe('mode: new\n');
    }
  });

  it('re-runs an interrupted read-only request (GET) on resume instead of refusing it', async () => {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(String(req.method));
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const fx = await planFixture(
        `
name: crash3
phases:
  - name: p
    hosts: all
    steps:
      - id: poke
        http.request: { url: "http://127.0.0.1:${port}/", status: [200] }
`,
        fakeInventory(['a']),
      );
      const journal = new MemoryJournal();
      await expect(
        engineFor(fx, new RecordingTransport(), crashAfterStart(journal, 'p/poke@a')).apply(),
      ).rejects.toThrow('killed');
      expect(hits).toEqual([]);
      await engineFor(fx, new RecordingTransport(), journal).resume();
      expect(hits).toEqual(['GET']);
      expect(replay(journal.read('r1')).steps.get('p/poke@a')?.status).toBe('succeeded');
    } finally {
      server.close();
    }
  });

  it.each([
    ['a plain secret', 'hunter2-very-secret'],
    // JSON escapes these, so redacting the serialised line would miss them.
    ['a secret with quotes, a backslash and a tab', 'pa"ss\\wo\trd-42'],
    ['a multi-line secret', 'line-one-secret\nline-two-secret'],
  ])(
    'never writes %s to the journal or the event stream, even split across output chunks',
    async (_, secret) => {
      const fx = await planFixture(
        `
name: secrets
secrets:
  token: { from: [ { env: DEMO_TOKEN } ] }
phases:
  - name: p
    hosts: all
    steps:
      - id: use
        shell.run: { command: "printf %s {{ secrets.token }} | login --token-stdin" }
      - id: fail
        shell.run: { command: "broken" }
`,
        fakeInventory(['a']),
        {},
        { DEMO_TOKEN: secret },
      );
      // Chunks of 4 characters: the secret reaches the engine in pieces, as through a pipe.
      const rec = new RecordingTransport({ chunkSize: 4 })
        .respond('a', 'login', { stdout: `logged in with ${secret}\n`, stderr: `debug: ${secret}` })
        .fail('a', 'broken', { code: 2, stderr: `error: token ${secret} rejected` });
      const journal = new FileJournal(fx.dir, fx.redactor);
      const seen: string[] = [];
      await expect(
        engineFor(fx, rec, journal, { onEvent: (e) => seen.push(JSON.stringify(e)) }).apply(),
      ).rejects.toThrow(StepFailedError);
      // The command really carried the secret to the host...
      expect(timeline(rec)[0]).toContain(secret);
      // ...but nothing written or printed holds it.
      const files = readdirSync(join(fx.dir, 'runs', 'r1')).map((f) =>
        readFileSync(join(fx.dir, 'runs', 'r1', f), 'utf8'),
      );
      for (const text of [...files, ...seen]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
      }
      expect(files.join('')).toContain('<secret:token>');
      // The output is all there, in whole lines, with the secret replaced.
      const out = journal.read('r1').flatMap((e) => (e.type === 'step.output' ? [e.text] : []));
      expect(out.join('')).toContain('logged in with <secret:token>\n');
      expect(existsSync(join(fx.dir, 'runs', 'r1', 'events.jsonl'))).toBe(true);
    },
  );
});

describe('engine abort', () => {
  it('stops new work and puts every host in flight back, in every group, before it returns', async () => {
    const fx = await planFixture(
      `
name: abort
phases:
  - name: p
    hosts: all
    rolling: { serial: 1, group_by: host.name }
    steps:
      - id: one
        shell.run: { command: "one-{{ host.name }}", undo: "undo-one-{{ host.name }}" }
      - id: two
        shell.run: { command: "two-{{ host.name }}" }
      - id: three
        shell.run: { command: "three-{{ host.name }}" }
`,
      fakeInventory(['a', 'b']),
    );
    const abort = new AbortController();
    const rec = new RecordingTransport().respond('a', 'two-a', () => {
      abort.abort(new Error('operator pressed Ctrl-C'));
      return { code: 0 };
    });
    const journal = new MemoryJournal();
    const run = engineFor(fx, rec, journal, { signal: abort.signal }).apply();
    await expect(run).rejects.toThrow(/aborted/);
    const scripts = timeline(rec);
    expect(scripts).toContain('a: undo-one-a');
    expect(scripts).toContain('b: undo-one-b');
    expect(scripts.some((s) => s.startsWith('a: three'))).toBe(false);
    expect(scripts.some((s) => s.startsWith('b: three'))).toBe(false);
    const state = replay(journal.read('r1'));
    expect(state.outcome).toBe('aborted');
    expect(state.steps.get('p/one@a')?.status).toBe('compensated');
  });
});
