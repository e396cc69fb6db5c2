import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFixture } from '../testing/plan-fixture.js';
import { LocalTransport } from '../transport/local.js';
import { previewPlan } from './preview.js';

describe('plan --probe', () => {
  it('shows each probe verdict and the diff of every edit, changing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-preview-'));
    const config = join(dir, 'app.yml');
    const original = '# app\nmode: old # keep\nlegacy: true\n';
    writeFileSync(config, original);
    writeFileSync(join(dir, 'present'), '');
    const fx = await planFixture(
      `
name: preview
phases:
  - name: p
    hosts: all
    steps:
      - id: migrate
        yaml.edit: { file: ${config}, set: { mode: new }, delete: [legacy] }
      - id: done-already
        shell.run: { command: "make-it", creates: ${join(dir, 'present')} }
      - id: to-do
        shell.run: { command: "make-it", creates: ${join(dir, 'absent')} }
`,
      'cluster: local\nhosts:\n  ctl: { address: 127.0.0.1, transport: local }\n',
    );
    const transport = new LocalTransport();
    try {
      const findings = await previewPlan(
        fx.plan,
        (h) => transport.connect({ name: h.name, address: h.address }),
        fx.redactor,
      );
      expect(findings.get('p/migrate@ctl')).toEqual([
        `--- ${config} (before)`,
        `+++ ${config} (after)`,
        '@@ -1,3 +1,2 @@',
        ' # app',
        '-mode: old # keep',
        '-legacy: true',
        '+mode: new # keep',
      ]);
      expect(findings.get('p/done-already@ctl')).toEqual([`already done (${join(dir, 'present')} exists)`]);
      expect(findings.get('p/to-do@ctl')).toEqual(['will change']);
      expect(readFileSync(config, 'utf8')).toBe(original);
    } finally {
      await transport.close();
    }
  });
});
