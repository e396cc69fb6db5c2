import { describe, expect, it } from 'vitest';
import { testKinds } from '../testing/step-kinds.js';
import { docsMarkdown } from './reference.js';

describe('docsMarkdown', () => {
  const docs = docsMarkdown(testKinds);

  it('documents every section of the format and every registered kind', () => {
    for (const heading of [
      '## Runbook',
      '## Params',
      '## Secrets',
      '## Vars',
      '## Phases',
      '### hosts',
      '### rolling',
      '### drain',
      '## Steps',
      '## Step kinds',
      '## Templates and expressions',
      '## Command line',
      '## Inventory',
      '### SSH settings: what the inventory says, else your ssh config',
      '### Ansible inventories',
    ]) {
      expect(docs).toContain(`\n${heading}\n`);
    }
    for (const kind of testKinds.keys()) expect(docs).toContain(`### \`${kind}\``);
  });

  it('renders params with types, defaults, required keys and descriptions from the schemas', () => {
    expect(docs).toContain('| `unit` | string | **required** | the unit |');
    expect(docs).toContain('| `force` | boolean | default `false` |  |');
    expect(docs).toContain(
      '| `serial` | whole number | default `1` | hosts upgraded at the same time, in batches: the next batch starts when the whole batch is done |',
    );
    expect(docs).toContain(
      '| `window` | whole number | optional | instead of serial: a pool that keeps this many hosts in flight, starting the next host as soon as one is done |',
    );
    expect(docs).toContain(
      '| `type` | "string" \\| "version" \\| "number" \\| "boolean" | default `"string"` |',
    );
    expect(docs).toContain('Waits for a log line (test kind). (read-only: allowed in preflight)');
  });

  it('explains the expression language', () => {
    expect(docs).toContain("`host.date('%Y%m%d')`");
    expect(docs).toContain('compare part by part as numbers');
    expect(docs).toContain('`not in`');
  });

  it('says so when no kinds are registered', () => {
    expect(docsMarkdown(new Map())).toContain('_(no step kinds are registered)_');
  });

  it('lists the input limits and the rule for values in scripts (issue 13)', () => {
    const text = docsMarkdown(testKinds);
    expect(text).toContain('\n## Limits\n');
    expect(text).toContain('at most 4 MiB');
    expect(text).toContain('at most 100 aliases');
    expect(text).toContain('2^31-1 ms');
    expect(text).toContain('linear-time engine');
    expect(text).toContain('\n## Values in scripts\n');
    expect(text).toContain('safe_programs: [mytool]');
    expect(text).toContain('`flock -c`');
  });
});
