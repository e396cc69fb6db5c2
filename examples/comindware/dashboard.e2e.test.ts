/**
 * Seed 000 in the lab, operated from the dashboard (issue 6): `cutover serve` and `cutover apply`
 * (no --approve-gates) in their own processes, Chromium on the dashboard. The page shows the nodes
 * moving through the upgrade (log waits with what they wait for), each node's "check the node"
 * gate is approved from the page, the run finishes, and test-results/dashboard-lab.png keeps the
 * timeline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFault, setFault } from '../../lab/faults.js';
import { labDown, labUp } from '../../lab/hosts.js';
import { CMW_VERSIONS, comindwareScenario } from '../../lab/scenarios/comindware.js';
import { openBrowser } from '../../src/testing/browser.js';
import { cutover, journalEvents, runIdFrom } from '../../test/cli.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const RUNBOOK = resolve(import.meta.dirname, 'runbook.yml');
const RESULTS = join(ROOT, 'test-results');
/** A node's line while cutover waits on its log: step, kind, and the pattern it waits for. */
const WAITING_ON_LOG = /^upgrade\/wait-(hold|rebalance) \[wait\.log\] · .* · waiting for \//;
const PLAN_ORDER = [
  'upgrade/stop-apigateway',
  'upgrade/stop-comindware',
  'upgrade/stop-adapterhost',
  'upgrade/backup',
  'upgrade/config-hold-lock',
  'upgrade/upgrade',
  'upgrade/check-units',
  'upgrade/wait-hold',
  'upgrade/poke',
  'upgrade/wait-rebalance',
  'upgrade/release-hold',
  'upgrade/wait-login',
  'upgrade/verify',
];

const labDir = mkdtempSync(join(tmpdir(), 'cutover-e2e-dashboard-'));
const state = mkdtempSync(join(tmpdir(), 'cutover-e2e-dashboard-state-'));
let inventory = '';
let password = '';
let distrUrl = '';
let serve: ChildProcess | undefined;
let url = '';
let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;

// biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator, not a DOM node
const shown = (locator: Locator): Promise<string> => locator.innerText();

async function untilServing(): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const address of ['127.0.10.10', '127.0.10.11', '127.0.10.12']) {
    for (;;) {
      const platform = await fetch(`http://${address}:8080/api/version`)
        .then((r) => r.json() as Promise<{ state: string }>)
        .then((v) => v.state)
        .catch(() => 'down');
      if (platform === 'running') break;
      if (Date.now() > deadline)
        throw new Error(`the lab's platform on ${address} did not start: ${platform}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

beforeAll(async () => {
  await labDown({ labDir, purge: true }).catch(() => undefined);
  const up = await labUp({ scenario: comindwareScenario, labDir });
  inventory = up.inventory;
  password = readFileSync(join(labDir, 'secrets', 'distr_password'), 'utf8').trim();
  distrUrl = String(up.controller?.info.artifactServer);
  await untilServing();
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
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (serve?.pid) process.kill(serve.pid, 'SIGTERM');
  await labDown({ labDir, purge: true });
}, 60_000);

describe('seed 000 from the dashboard', { timeout: 300_000 }, () => {
  it('follows the nodes through the upgrade and approves each node check from the page', async () => {
    const page: Page = await (browser as NonNullable<typeof browser>).context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(url);
    // Barrier: web's new version is held at its start, so cutover waits on web's log for as long
    // as it takes the page to show that wait; the test then releases it.
    await setFault(labDir, 'web', 'hold-start');
    let released = false;
    const applying = cutover(
      [
        '--state-dir',
        state,
        'apply',
        '-r',
        RUNBOOK,
        '-i',
        inventory,
        '-p',
        `version=${CMW_VERSIONS.holdLock}`,
        '-p',
        `distr_url=${distrUrl}`,
        '--yes',
        '--await-approval',
      ],
      { env: { CMW_DISTR_PASSWORD: password } },
    );
    let finished = false;
    void applying.then(() => {
      finished = true;
    });

    // Watch the page: what each node's line shows, and approve each gate as it comes.
    const seen = new Map<string, string[]>();
    const approved: string[] = [];
    let screenshot = false;
    const deadline = Date.now() + 280_000;
    while (!finished) {
      if (Date.now() > deadline)
        throw new Error(`the run did not finish; the page shows:\n${await shown(page.locator('#main'))}`);
      for (const row of await page.locator('.host').all()) {
        const host = (await row.getAttribute('data-host')) ?? '';
        const line = await shown(row.locator('.line')).catch(() => '');
        const lines = seen.get(host) ?? [];
        if (lines.at(-1) !== line) lines.push(line);
        seen.set(host, lines);
        if (!released && host === 'web' && WAITING_ON_LOG.test(line)) {
          await clearFault(labDir, 'web', 'hold-start');
          released = true;
        }
      }
      const gate = page.locator('.gate').first();
      // The page redraws as events come: a gate counted a moment ago may be gone (decided) by now.
      const step = (await gate.count())
        ? await gate.getAttribute('data-step', { timeout: 1000 }).catch(() => null)
        : null;
      // Until the run journals the decision the page still offers the gate: click it once.
      if (step && !approved.includes(step)) {
        if (!screenshot) {
          await page.screenshot({ path: join(RESULTS, 'dashboard-lab-gate.png'), fullPage: true });
          screenshot = true;
        }
        await gate.locator('button.approve').click();
        approved.push(step);
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    const result = await applying;
    // Without a terminal, apply only says where each gate waits.
    for (const line of result.stderr.split('\n').filter(Boolean))
      expect(line).toMatch(
        /^(gate on (backup|integration|web): Log in at |Waiting for a decision from the dashboard)/,
      );
    expect(result.code).toBe(0);
    // Backup first, then integration, then web, each approved from the page.
    expect(approved).toEqual(['upgrade/verify@backup', 'upgrade/verify@integration', 'upgrade/verify@web']);
    const run = runIdFrom(result.stdout);
    const decided = journalEvents(state, run).filter((e) => e.type === 'gate.decided');
    expect(decided.map((e) => e.type === 'gate.decided' && `${e.host} ${e.approved} ${e.by}`)).toEqual([
      `backup true dashboard on ${hostname()} (127.0.0.1)`,
      `integration true dashboard on ${hostname()} (127.0.0.1)`,
      `web true dashboard on ${hostname()} (127.0.0.1)`,
    ]);
    // The page showed each node moving forward through its steps (the gate of each, held until the
    // click, for certain; others as the page saw them), and web's held log wait with its pattern.
    expect(released).toBe(true);
    for (const host of ['backup', 'integration', 'web']) {
      const steps = (seen.get(host) ?? [])
        .map((l) => PLAN_ORDER.indexOf(l.split(' ')[0] ?? ''))
        .filter((i) => i >= 0);
      expect(steps, `${host}: ${seen.get(host)?.join(' | ')}`).toContain(
        PLAN_ORDER.indexOf('upgrade/verify'),
      );
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
    }

    await page.waitForFunction(() => document.getElementById('run-outcome')?.textContent === 'succeeded');
    expect(await page.locator('#gantt .g-bar.g-is-gate').count()).toBe(3);
    await page.locator('#gantt').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, 'dashboard-lab.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
