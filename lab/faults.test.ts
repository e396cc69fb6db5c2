import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { clearFault, FAULT_KNOBS, faultContent, listFaults, setFault } from './faults.js';
import { labLayout } from './layout.js';
import { tempLabDir } from './test-support.js';

// A lab folder with its state but no running host: knobs are files, usable while hosts are down.
const labDir = tempLabDir('faults');
const layout = labLayout(labDir);
await fs.writeFile(
  layout.state,
  JSON.stringify({
    version: 1,
    scenario: 'comindware',
    sharedStorage: true,
    hosts: [{ name: 'web', address: '127.0.10.10', roles: ['web'], vars: {} }],
  }),
);

afterAll(async () => {
  await fs.rm(labDir, { recursive: true, force: true });
});

describe('fault knobs', () => {
  it('knows the six knobs of the lab contract', () => {
    expect(Object.keys(FAULT_KNOBS)).toEqual([
      'fail-start',
      'no-rebalance',
      'crash-after-start',
      'slow-start',
      'ignore-term',
      'hold-start',
    ]);
  });

  it('writes each knob as a file in the host folder bound at /etc/lab/faults, and clears it', async () => {
    for (const knob of Object.keys(FAULT_KNOBS)) {
      const file = await setFault(labDir, 'web', knob);
      expect(file).toBe(path.join(layout.host('web').faults, knob));
      expect(readFileSync(file, 'utf8')).toBe('');
    }
    await setFault(labDir, 'web', 'slow-start', '2.5');
    expect(readFileSync(path.join(layout.host('web').faults, 'slow-start'), 'utf8')).toBe('2.5\n');
    expect(await listFaults(labDir, 'web')).toEqual({
      'crash-after-start': '',
      'fail-start': '',
      'hold-start': '',
      'ignore-term': '',
      'no-rebalance': '',
      'slow-start': '2.5',
    });
    for (const knob of Object.keys(FAULT_KNOBS)) expect(await clearFault(labDir, 'web', knob)).toBe(true);
    expect(await clearFault(labDir, 'web', 'fail-start')).toBe(false);
    expect(await listFaults(labDir, 'web')).toEqual({});
    expect(existsSync(path.join(layout.host('web').faults, 'slow-start.tmp'))).toBe(false);
  });

  it('refuses unknown knobs, hosts and values, saying what is allowed', async () => {
    await expect(setFault(labDir, 'web', 'fail-stop')).rejects.toThrow(/unknown fault knob "fail-stop"/);
    await expect(setFault(labDir, 'web', 'fail-stop')).rejects.toMatchObject({
      hint: expect.stringContaining('slow-start [SECONDS]'),
    });
    await expect(setFault(labDir, 'db', 'fail-start')).rejects.toThrow(/lab comindware has no host "db"/);
    await expect(setFault(labDir, 'web', 'fail-start', '3')).rejects.toThrow(/takes no value/);
    await expect(setFault(labDir, 'web', 'slow-start', 'soon')).rejects.toThrow(/not a number of seconds/);
    expect(() => faultContent('slow-start', '0')).toThrow(UsageError);
    await expect(setFault(path.join(labDir, 'nope'), 'web', 'fail-start')).rejects.toThrow(/holds no lab/);
  });
});
