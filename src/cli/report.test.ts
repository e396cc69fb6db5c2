/**
 * `cutover report RUN --html FILE` on a real run (local transport, the built CLI): the file holds
 * no secret, references nothing outside itself, and renders in Chromium with the network cut off
 * and no console errors.
 */
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cutover, runIdFrom } from '../../test/cli.js';
import { openBrowser } from '../testing/browser.js';

const SECRET = 'Rep0rt-Secret-Value-77';
const env = { REPORT_TEST_TOKEN: SECRET };

const dir = mkdtempSync(join(tmpdir(), 'cutover-report-'));
const state = join(dir, 'state');
let run = '';

beforeAll(async () => {
  writeFileSync(
    join(dir, 'inventory.yml'),
    'cluster: report-test\nhosts:\n  web: { address: 127.0.0.1, transport: local }\n  db: { address: 127.0.0.1, transport: local }\n',
  );
  writeFileSync(
    join(dir, 'runbook.yml'),
    [
      'name: report',
      'secrets:',
      '  token: { from: [ { env: REPORT_TEST_TOKEN } ] }',
      'phases:',
      '  - id: up',
      '    hosts: all',
      '    rolling: { serial: 1 }',
      '    steps:',
      '      - id: login',
      '        shell.run: { command: "echo logging in with {{ secrets.token }}", undo: "echo logout" }',
      '      - id: version',
      '        shell.run: { command: "echo 5.0.1", capture: version }',
      '      - id: settle',
      `        wait.file: { path: "${dir}", state: present }`,
      '      - id: migrate',
      '        when: "host.name == \'db\'"',
      '        shell.run: { command: "echo migration failed for {{ secrets.token }} >&2; exit 4" }',
      '',
    ].join('\n'),
  );
  const applied = await cutover(
    [
      '--state-dir',
      state,
      'apply',
      '-r',
      join(dir, 'runbook.yml'),
      '-i',
      join(dir, 'inventory.yml'),
      '--yes',
    ],
    { env },
  );
  expect(applied.code).toBe(1);
  run = runIdFrom(applied.stdout);
  // A leak the journal's own redaction could not have caught (written by hand here): the report redacts again.
  appendFileSync(
    join(state, 'runs', run, 'events.jsonl'),
    `${JSON.stringify({ type: 'step.output', step: 'up/login@web', host: 'web', stream: 'stdout', text: `leaked ${SECRET}\n`, seq: 999, at: new Date().toISOString(), run })}\n`,
  );
});

describe('cutover report --html', () => {
  let html = '';
  const file = join(dir, 'report.html');

  beforeAll(async () => {
    const res = await cutover(['--state-dir', state, 'report', run, '--html', file], { env });
    expect(res.stderr).toContain(`report of run ${run} written to ${file}`);
    expect(res.code).toBe(0);
    html = readFileSync(file, 'utf8');
  });

  it('contains the summary, the timeline, the plan and the step output, with no secret', () => {
    expect(html).not.toContain(SECRET);
    expect(html).toContain('logging in with &lt;secret:token&gt;');
    expect(html).toContain('leaked &lt;secret:token&gt;');
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg" class="gantt"');
    expect(html).toMatch(/<tr data-host="db"><td>db<\/td><td><span class="badge o-failed">failed<\/span>/);
    expect(html).toContain('<th>version before</th>');
    expect(html).toContain('id="step-up_migrate_db"');
    expect(html).toContain('class="g-bar g-failed" data-step="up/migrate@db"');
    expect(html).toContain('class="g-undo g-undo-succeeded" data-step="up/login@db"');
  });

  it('loads nothing from anywhere: no external URL in any attribute, a CSP that forbids it', () => {
    expect(html).not.toMatch(/\b(src|href|action)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?(https?:)?\/\//i);
    expect(html).toContain(`content="default-src 'none';`);
  });

  it('renders in Chromium with the network disabled and no console errors', async () => {
    const browser = await openBrowser(['--proxy-server=127.0.0.1:9']);
    try {
      await loadOffline(browser);
    } finally {
      await browser.close();
    }
  });
});

async function loadOffline(browser: Awaited<ReturnType<typeof openBrowser>>): Promise<void> {
  const file = join(dir, 'report.html');
  const blocked: string[] = [];
  const problems: string[] = [];
  await browser.context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = await browser.context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(`file://${file}`);
  expect(await page.locator('.gantt .g-bar').count()).toBeGreaterThanOrEqual(7);
  const box = await page.locator('svg.gantt').boundingBox();
  expect(box?.width).toBeGreaterThan(500);
  // Clicking a bar opens that step's output; failed steps are open already.
  await page.locator('.gantt [data-step="up/version@web"]').click();
  await page.waitForFunction(
    () => (document.getElementById('step-up_version_web') as HTMLDetailsElement).open,
  );
  expect(await page.locator('#step-up_migrate_db').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(
    true,
  );
  expect(await page.locator('#step-up_migrate_db pre.err').textContent()).toContain('exited 4');
  expect(blocked).toEqual([]);
  expect(problems).toEqual([]);
}
