/**
 * The dashboard in Chromium, against the real CLI: `cutover serve` and `cutover apply` in two
 * processes (local transport). The page follows a host through its steps, approves its
 * gate.confirm (the run then finishes), aborts another run, and keeps a screenshot of the
 * timeline in test-results/dashboard.png.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutover, journalEvents, runIdFrom } from '../../../test/cli.js';
import { openBrowser } from '../../testing/browser.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const RESULTS = join(ROOT, 'test-results');

const dir = mkdtempSync(join(tmpdir(), 'cutover-dashboard-'));
const state = join(dir, 'state');
let serve: ChildProcess | undefined;
let url = '';
let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;

/** The runbook and inventory; each run waits on its own `ready-<host>-<tag>` files. */
function workspace(tag: string): { runbook: string; inventory: string } {
  writeFileSync(
    join(dir, 'inventory.yml'),
    'cluster: dashboard-test\nhosts:\n  web: { address: 127.0.0.1, transport: local }\n  db: { address: 127.0.0.1, transport: local }\n',
  );
  writeFileSync(
    join(dir, 'runbook.yml'),
    [
      'name: dashboard',
      'phases:',
      '  - id: upgrade',
      '    hosts: all',
      '    rolling: { serial: 1 }',
      '    steps:',
      '      - id: version-before',
      '        shell.run: { command: "echo 1.4.2", capture: version }',
      '      - id: stop',
      `        shell.run: { command: "echo stopping {{ host.name }}; echo stopped > ${dir}/state-{{ host.name }}", undo: "echo started > ${dir}/state-{{ host.name }}" }`,
      '      - id: wait-ready',
      `        wait.file: { path: "${dir}/ready-{{ host.name }}-${tag}", state: present }`,
      '        timeout: 5m',
      '      - id: verify',
      '        when: "host.name == \'web\'"',
      '        gate.confirm: { message: "Open http://{{ host.name }}/ and check the login page" }',
      '      - id: version-after',
      '        shell.run: { command: "echo 1.5.0", capture: version }',
      '',
    ].join('\n'),
  );
  return { runbook: join(dir, 'runbook.yml'), inventory: join(dir, 'inventory.yml') };
}

function apply(files: { runbook: string; inventory: string }) {
  return cutover([
    '--state-dir',
    state,
    'apply',
    '-r',
    files.runbook,
    '-i',
    files.inventory,
    '--yes',
    '--await-approval',
  ]);
}

/** A locator's text as rendered (Playwright's innerText: table cells and lines kept apart). */
// biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, not a DOM node
const shown = (locator: Locator): Promise<string> => locator.innerText();

/** The host row's status and line, as the page shows them. */
async function hostRow(page: Page, host: string): Promise<{ status: string; line: string }> {
  const row = page.locator(`.host[data-host="${host}"]`);
  return {
    status: (await row.getAttribute('data-status')) ?? '',
    line: await shown(row.locator('.line')),
  };
}

/** Polls the page until `check` holds; fails with what the page last showed. */
async function pageUntil(page: Page, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) {
      const text = await shown(page.locator('#main')).catch(() => '');
      throw new Error(`the dashboard never showed ${what}; it shows:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  serve = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'cutover.js'), '--state-dir', state, 'serve', '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    serve?.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolveUrl(m[1] as string);
    });
    serve?.on('exit', (code) => reject(new Error(`cutover serve exited ${code}: ${out}`)));
  });
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
  if (serve?.pid) process.kill(serve.pid, 'SIGTERM');
});

describe('the live dashboard (Chromium)', { timeout: 90_000 }, () => {
  it('follows a host through its steps, approves its gate from the page, and the run finishes', async () => {
    const files = workspace('approve');
    const page = await (browser as NonNullable<typeof browser>).context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(url);
    const applying = apply(files);

    // The page picks the live run by itself and shows web waiting on its file, db waiting its turn.
    // step.started and step.waiting are two events: wait for the second before reading the line.
    await pageUntil(page, 'web waiting for its ready file', async () =>
      /upgrade\/wait-ready \[wait\.file\] .* waiting for /.test((await hostRow(page, 'web')).line),
    );
    const run = await shown(page.locator('#run-title'));
    expect(run).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(await shown(page.locator('#run-outcome'))).toBe('running');
    const waiting = await hostRow(page, 'web');
    expect(waiting.status).toBe('running');
    expect(waiting.line).toMatch(
      /^upgrade\/wait-ready \[wait\.file\] · [\d.]+m?s · waiting for .*\/ready-web-approve to exist$/,
    );
    expect(await hostRow(page, 'db')).toEqual({ status: 'pending', line: 'waiting for its turn' });
    const chips = () =>
      page.locator('.host[data-host="web"] .chip').evaluateAll((cs) => cs.map((c) => c.className));
    expect(await chips()).toEqual([
      'chip succeeded',
      'chip succeeded',
      'chip running',
      'chip pending',
      'chip pending',
    ]);

    // The file appears: web moves on to its gate, which the page offers to approve.
    writeFileSync(join(dir, 'ready-web-approve'), '');
    await pageUntil(
      page,
      'the gate of web',
      async () => (await page.locator('.gate[data-host="web"]').count()) === 1,
    );
    expect(await hostRow(page, 'web')).toMatchObject({ status: 'running' });
    expect((await hostRow(page, 'web')).line).toMatch(
      /^upgrade\/verify \[gate\.confirm\] · .* · waiting for approval: Open http:\/\/web\/ and check the login page$/,
    );
    expect(await shown(page.locator('.gate[data-host="web"] .msg'))).toContain(
      'Open http://web/ and check the login page',
    );
    expect(await page.locator('#gantt svg.gantt .g-bar').count()).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: join(RESULTS, 'dashboard-gate.png'), fullPage: true });

    // The person names themselves once (kept in the browser); the journal records it with the decision.
    await page.locator('#who').fill('carol');
    await page.locator('.gate[data-host="web"] button.approve').click();
    await pageUntil(page, 'web done and db waiting', async () => {
      const [web, db] = [await hostRow(page, 'web'), await hostRow(page, 'db')];
      return web.status === 'succeeded' && db.line.includes('upgrade/wait-ready');
    });
    expect(await page.locator('.gate').count()).toBe(0);
    expect(await shown(page.locator('#logs pre[data-host="web"]'))).toContain(
      `gate approved by carol via dashboard on ${hostname()} (127.0.0.1)`,
    );

    writeFileSync(join(dir, 'ready-db-approve'), '');
    const result = await applying;
    expect(result.code).toBe(0);
    expect(runIdFrom(result.stdout)).toBe(run);
    await pageUntil(
      page,
      'the run succeeded',
      async () => (await shown(page.locator('#run-outcome'))) === 'succeeded',
    );
    expect(await hostRow(page, 'db')).toMatchObject({ status: 'succeeded' });
    expect(await page.locator('#abort').isHidden()).toBe(true);

    // The journal says who approved; the timeline holds every step of both hosts, the gate hatched.
    expect(journalEvents(state, run)).toContainEqual(
      expect.objectContaining({
        type: 'gate.decided',
        host: 'web',
        approved: true,
        by: `carol via dashboard on ${hostname()} (127.0.0.1)`,
      }),
    );
    expect(await page.locator('#gantt .g-bar').count()).toBe(9);
    expect(await page.locator('#gantt .g-bar.g-is-gate rect.g-gate-wait').count()).toBe(1);
    expect(await shown(page.locator('#summary tr[data-host="web"]'))).toMatch(
      /succeeded.*1\.4\.2\s+1\.5\.0/s,
    );
    await page.locator('#gantt').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('aborts a run from the page: the host in flight is put back', async () => {
    const files = workspace('abort');
    const page = await (browser as NonNullable<typeof browser>).context.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(url);
    const applying = apply(files);
    const runId = await new Promise<string>((r) => {
      const poll = async () => {
        const live = await page
          .locator('nav li:has(.badge.o-running)')
          .getAttribute('data-run')
          .catch(() => null);
        if (live) r(live);
        else setTimeout(poll, 50);
      };
      void poll();
    });
    await page.goto(`${url}#run=${runId}`);
    await pageUntil(page, 'web waiting', async () =>
      (await hostRow(page, 'web')).line.includes('upgrade/wait-ready'),
    );
    await page.locator('#abort').click();
    // The name given for the gate earlier is kept by the browser and recorded with the abort too.
    const result = await applying;
    expect(result.code).toBe(6);
    await pageUntil(
      page,
      'the run aborted',
      async () => (await shown(page.locator('#run-outcome'))) === 'aborted',
    );
    expect(await shown(page.locator('#run-error'))).toContain(
      `Abort requested by carol via dashboard on ${hostname()} (127.0.0.1)`,
    );
    expect(await hostRow(page, 'web')).toMatchObject({ status: 'aborted' });
    expect(journalEvents(state, runId)).toContainEqual(
      expect.objectContaining({ type: 'compensation.succeeded', step: 'upgrade/stop@web' }),
    );
    await page.close();
  });
});
