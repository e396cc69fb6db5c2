/**
 * Any document made of lines of real runbooks (the corpus, the seeds) and of the forms the
 * importer reads specially imports into a draft the loader accepts, or into an InputError:
 * never a crash, never a draft that does not validate (which `cutover import` exits 70 on).
 * The mix is pseudo-random from a fixed seed, so a failure is reproducible.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { parseRunbook } from '../runbook/load.js';
import { importMarkdown } from './import.js';

const here = import.meta.dirname;
const corpus = resolve(here, 'corpus');
const documents = [
  ...readdirSync(corpus).map((f) => join(corpus, f)),
  resolve(here, '../../examples/seeds/000_242cadced4fd0863.txt'),
  resolve(here, '../../examples/seeds/004_f4a6607741ac3393.txt'),
];
const lines = documents.flatMap((f) => readFileSync(f, 'utf8').split('\n'));
const forms = [
  'tail -f /var/log/a.log | grep "[unclosed"',
  'until curl -f http://$HOST/x; do sleep 1; done',
  'until ; do sleep 5; done',
  'Repeat steps 9–3 on `app02`.',
  'Repeat steps 1–3 on `app02`.',
  'Repeat step 2 on `x-1`.',
  '| Host | IP |\n|---|---|\n| app01 | 10.0.0.1 |\n| app02 | 10.0.0.2 |',
  'Upgrade in the order app02, app01.',
  'If it fails, run:',
  'On staging:',
  'the output must be empty:',
  'Re-run every 0 s until it prints 0',
  "sed -i 's/a/b/' /etc/x",
  "sed -i 's/b/a/' /etc/x",
  '## Rollback',
  '## Staging (Kubernetes)',
  '# Title',
  '```',
  '1. On `h-1`:',
  'Wait until `x` appears:',
];

/** A linear congruential generator: the same documents on every run. */
function generator(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

describe('import: mixed documents', () => {
  it('never crash and always give a draft that validates (or an InputError)', () => {
    const next = generator(7);
    for (let i = 0; i < 150; i++) {
      const size = 5 + next(60);
      const text = Array.from({ length: size }, () =>
        next(5) === 0 ? (forms[next(forms.length)] as string) : (lines[next(lines.length)] as string),
      ).join('\n');
      let yaml: string;
      try {
        yaml = importMarkdown(text, 'mixed.md').yaml;
      } catch (e) {
        if (e instanceof InputError) continue;
        throw new Error(`document ${i} crashed the import: ${(e as Error).message}\n${text}`);
      }
      const errors = parseRunbook(yaml, 'mixed.yml').problems.filter((p) => p.severity === 'error');
      expect(
        errors.map((e) => e.message),
        `document ${i}:\n${text}`,
      ).toEqual([]);
    }
  });
});
