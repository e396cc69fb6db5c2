/**
 * The dashboard server over HTTP: who may talk to it (token, Host, JSON + same origin), the
 * server-sent snapshots of a real run (`cutover apply`, local transport), and an abort that
 * travels through the control file to the running engine, which puts the host back.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cutover, journalEvents, runIdFrom } from '../../../test/cli.js';
import { startDashboard } from './server.js';

/** A raw HTTP request (fetch cannot set Host). */
function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Reads server-sent events until `until` accepts one; returns it. */
async function nextEvent(
  url: string,
  until: (name: string, data: unknown) => boolean,
): Promise<{ name: string; data: unknown }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no matching event from ${url} within 20s`)), 20_000);
  try {
    const res = await fetch(url, { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name && data) {
          const parsed = JSON.parse(data) as unknown;
          if (until(name, parsed)) return { name, data: parsed };
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe('dashboard access', () => {
  it('refuses a non-loopback bind without a token, in the API and in the CLI', async () => {
    await expect(startDashboard({ stateDir: tmpdir(), host: '0.0.0.0', port: 0 })).rejects.toThrow(/token/);
    const res = await cutover(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--host 0.0.0.0 is reachable from other machines');
    expect(res.stderr).toContain('--token');
  });

  it('with a token, every request must carry it (query or bearer)', async () => {
    const token = 'a-long-test-token-0123456789';
    const d = await startDashboard({
      stateDir: mkdtempSync(join(tmpdir(), 'cutover-dash-')),
      host: '127.0.0.1',
      port: 0,
      token,
    });
    try {
      expect((await http(d.url)).status).toBe(401);
      expect((await http(`${d.url}?token=wrong-token-0123456789`)).status).toBe(401);
      expect((await http(`${d.url}api/runs`)).status).toBe(401);
      const page = await http(`${d.url}?token=${token}`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<title>cutover dashboard</title>');
      expect((await http(`${d.url}api/runs`, { headers: { Authorization: `Bearer ${token}` } })).body).toBe(
        '[]',
      );
    } finally {
      await d.close();
    }
  });

  it('on loopback, refuses foreign Host names (DNS rebinding)', async () => {
    const d = await startDashboard({
      stateDir: mkdtempSync(join(tmpdir(), 'cutover-dash-')),
      host: '127.0.0.1',
      port: 0,
    });
    try {
      expect((await http(d.url, { headers: { Host: 'attacker.example' } })).status).toBe(421);
      expect((await http(d.url, { headers: { Host: `localhost:${d.port}` } })).status).toBe(200);
      expect((await http(`${d.url}api/runs/../../etc/gate`, { method: 'POST' })).status).toBe(404);
    } finally {
      await d.close();
    }
  });
});

describe('dashboard over a running apply', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-dash-run-'));
  const state = join(dir, 'state');
  writeFileSync(
    join(dir, 'inventory.yml'),
    'cluster: dash-test\nhosts:\n  web: { address: 127.0.0.1, transport: local }\n',
  );
  writeFileSync(
    join(dir, 'runbook.yml'),
    [
      'name: dash',
      'phases:',
      '  - id: up',
      '    hosts: all',
      '    steps:',
      '      - id: stop',
      `        shell.run: { command: "echo stopped > ${dir}/stopped", undo: "echo started > ${dir}/stopped" }`,
      '      - id: wait-forever',
      `        wait.file: { path: "${dir}/never", state: present }`,
      '        timeout: 5m',
      '',
    ].join('\n'),
  );
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  afterAll(() => dashboard?.close());

  it('streams the run as it moves, and an abort from the dashboard makes the run put the host back', async () => {
    dashboard = await startDashboard({ stateDir: state, host: '127.0.0.1', port: 0, pollMs: 50 });
    const applying = cutover([
      '--state-dir',
      state,
      'apply',
      '-r',
      join(dir, 'runbook.yml'),
      '-i',
      join(dir, 'inventory.yml'),
      '--yes',
    ]);
    const runs = await nextEvent(
      `${dashboard.url}api/stream`,
      (name, data) => name === 'runs' && (data as unknown[]).length > 0,
    );
    const run = (runs.data as { run: string }[])[0]?.run as string;
    const waiting = await nextEvent(`${dashboard.url}api/stream?run=${run}`, (name, data) => {
      const host = (data as { hosts?: { line: string }[] }).hosts?.[0];
      return (
        name === 'view' && Boolean(host?.line.includes('wait-forever') && host.line.includes('to exist'))
      );
    });
    const view = waiting.data as {
      live: boolean;
      hosts: { status: string; line: string; steps: { status: string }[] }[];
      gantt: string;
    };
    expect(view.live).toBe(true);
    expect(view.hosts[0]?.status).toBe('running');
    expect(view.hosts[0]?.line).toMatch(
      /^up\/wait-forever \[wait\.file\] · [\d.]+m?s · waiting for .*\/never to exist$/,
    );
    expect(view.hosts[0]?.steps.map((s) => s.status)).toEqual(['succeeded', 'running']);
    expect(view.gantt).toContain('class="g-now"');

    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      http(`${dashboard?.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    expect(
      (await post(`api/runs/${run}/gate`, { step: 'up/stop@web', host: 'web', gateSeq: 3, approved: true }))
        .status,
    ).toBe(409);
    // A page of another site can neither post JSON to us (preflight) nor a form (content type).
    expect((await post(`api/runs/${run}/abort`, {}, { Origin: 'http://evil.example' })).status).toBe(403);
    const form = await http(`${dashboard.url}api/runs/${run}/abort`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(form.status).toBe(403);
    const aborted = await post(`api/runs/${run}/abort`, {});
    expect(aborted.status).toBe(202);

    const result = await applying;
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(`Aborting (asked by dashboard on ${hostname()} (127.0.0.1))`);
    const events = journalEvents(state, runIdFrom(result.stdout));
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'abort.requested', by: `dashboard on ${hostname()} (127.0.0.1)` }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'compensation.succeeded', step: 'up/stop@web' }),
    );
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', outcome: 'aborted' });
    expect(readFileSync(join(dir, 'stopped'), 'utf8')).toBe('started\n');
    // The run is over: nothing left to abort.
    await nextEvent(
      `${dashboard.url}api/stream?run=${run}`,
      (name, data) => name === 'view' && (data as { live: boolean }).live === false,
    );
    expect((await post(`api/runs/${run}/abort`, {})).status).toBe(409);
    const report = await http(`${dashboard.url}api/runs/${run}/report`);
    expect(report.body).toContain('<svg xmlns="http://www.w3.org/2000/svg" class="gantt"');
  });
});
