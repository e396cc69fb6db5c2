import { z } from 'zod';
import { defineKind } from './kind.js';

const params = z
  .object({
    message: z
      .string()
      .min(1)
      .describe(
        'what the operator must check before approving, e.g. "Log in at http://10.0.0.12/ and check the node works"',
      ),
  })
  .strict();

/** `gate.confirm`: stops until an operator approves (`--yes` alone never does). Example: `{ message: 'Check the login page of web, then approve' }`. */
export const gateConfirm = defineKind({
  name: 'gate.confirm',
  summary:
    'Wait for an operator to approve a manual check (terminal prompt or dashboard); --yes alone never approves it.',
  params,
  intent: (p) => ({ does: `ask an operator: "${String(p.message)}"` }),
  readOnly: true,
  plan(p) {
    return { actions: [{ type: 'confirm', message: p.message }] };
  },
});
