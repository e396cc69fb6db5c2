/**
 * Tiny step kinds for the runbook tests, so they never depend on the real catalogue (which
 * lives in src/steps and may change). Example: `parseRunbook(text, 'rb.yml', { kinds: testKinds })`.
 */
import { z } from 'zod';
import type { RegisteredKind, StepKindRegistry } from '../runbook/schema.js';
import { sh } from '../shell/command.js';
import { defineKind } from '../steps/kind.js';
import { duration, scriptText, word } from '../steps/params.js';

const noop = () => ({ actions: [] });

/** `test.run`: a script; `test.stop`: a unit and a timeout; `test.http`: read-only for GET; `test.wait` (read-only): a log path and pattern, with `since`. Example: `{ kinds: testKinds }`. */
export const testKinds: StepKindRegistry = new Map<string, RegisteredKind>(
  [
    defineKind({
      name: 'test.run',
      summary: 'Runs a script (test kind).',
      params: z.strictObject({ command: scriptText.describe('the script') }),
      plan: noop,
    }),
    defineKind({
      name: 'test.stop',
      summary: 'Stops a unit (test kind).',
      params: z.strictObject({
        unit: word.describe('the unit'),
        timeout: duration.optional(),
        force: z.boolean().default(false),
      }),
      plan: (p) => ({ actions: [{ type: 'exec', cmd: sh`systemctl stop ${p.unit}` }] }),
    }),
    defineKind({
      name: 'test.http',
      summary: 'Sends a request (test kind); read-only for GET.',
      params: z.strictObject({ url: word, method: z.enum(['GET', 'POST']).default('GET') }),
      readOnlyFor: (p) => p.method === 'GET',
      plan: noop,
    }),
    defineKind({
      name: 'test.wait',
      summary: 'Waits for a log line (test kind).',
      readOnly: true,
      params: z.strictObject({
        path: word,
        pattern: z.string().min(1),
        since: z.string().optional(),
        lines: z.int().min(1).optional(),
      }),
      plan: noop,
    }),
  ].map((k) => [k.name, k as RegisteredKind]),
);
