/**
 * `npm run demo`, the README's first command: the bundled demo (dist/demo.js, built by the global
 * setup as `npm run demo` builds it) brings up the Comindware lab, upgrades it under load through
 * examples/comindware/inventory.lab.yml, and prints versions, traffic and duration.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labDown } from '../../lab/hosts.js';
import { CMW_VERSIONS } from '../../lab/scenarios/comindware.js';
import { journalEvents, runNode } from '../../test/cli.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const stateDir = mkdtempSync(join(tmpdir(), 'cutover-demo-state-'));

// Not a terminal: the plain host-prefixed log, as in CI.
const demo = () => runNode(join(ROOT, 'dist', 'demo.js'), [], { env: { CUTOVER_STATE_DIR: stateDir } });

describe.runIf(process.getuid?.() === 0)('npm run demo', { timeout: 240_000 }, () => {
  // The demo leaves its lab up for the user to look around; the test takes it down.
  afterAll(() => labDown({ labDir: join(ROOT, '.lab', 'comindware'), purge: true }), 60_000);

  it('upgrades the lab under load and prints versions, requests sent/failed and the duration', async () => {
    const run = await demo();
    if (run.code !== 0) throw new Error(`demo exited ${run.code}\n${run.stdout}\n${run.stderr}`);
    const result = run.stdout.slice(run.stdout.indexOf('== result'));
    for (const host of ['web', 'integration', 'backup'])
      expect(result).toMatch(
        new RegExp(`^ {2}${host} +${CMW_VERSIONS.holdLock.replaceAll('.', '\\.')} \\(running\\)$`, 'm'),
      );
    // Four targets (both locations on web and integration), each with requests and none failed.
    for (const target of ['web /', 'web /async', 'integration /', 'integration /async']) {
      const row = new RegExp(`^\\s*${target} +http://\\S+ +(\\d+) +(\\d+) +(\\d+)`, 'm').exec(result);
      expect(row, target).not.toBeNull();
      expect(Number(row?.[1]), target).toBeGreaterThan(30);
      expect(Number(row?.[3]), target).toBe(0);
    }
    const total = /^\s*total +(\d+) +(\d+) +(\d+)/m.exec(result);
    expect(Number(total?.[1])).toBeGreaterThan(100);
    expect(Number(total?.[3])).toBe(0);
    expect(result).toMatch(/upgrade took \S+, cutover exit code 0/);
    // The live progress went to the terminal as host-prefixed lines, and the run is in the journal.
    expect(run.stdout).toMatch(/^\S+ +integration +/m);
    const runs = readdirSync(join(stateDir, 'runs'));
    expect(runs).toHaveLength(1);
    const finished = journalEvents(stateDir, runs[0] as string).at(-1);
    expect(finished).toMatchObject({ type: 'run.finished', outcome: 'succeeded' });
  });
});
