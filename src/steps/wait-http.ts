import { z } from 'zod';
import { defineKind } from './kind.js';
import { httpUrl, jsRegex, statusCodes } from './support.js';
import { watchGuard, watchParam } from './watch.js';

const params = z
  .object({
    url: httpUrl.describe('URL polled from the controller with GET, e.g. http://10.0.0.12:8080/login'),
    status: statusCodes.default([200]).describe('answers that count as ready (default [200])'),
    body: jsRegex.optional().describe('regex (JavaScript syntax) the body must also match, e.g. Sign in'),
    insecure: z
      .boolean()
      .default(false)
      .describe('skip TLS certificate verification (self-signed certificates)'),
    watch: watchParam.optional(),
  })
  .strict();

/** `wait.http`: polls a URL from the controller until it answers one of `status` (and its body matches). Example: `{ url: 'http://10.0.0.12:8080/login', body: 'Sign in' }`. */
export const waitHttp = defineKind({
  name: 'wait.http',
  summary:
    'Poll a URL from the controller with GET until it answers an expected status (default 200) and, if given, its body matches a regex.',
  params,
  intent: (p) => ({ does: `wait until ${String(p.url)} answers` }),
  readOnly: true,
  plan(p) {
    return {
      actions: [
        {
          type: 'wait',
          condition: {
            kind: 'http',
            request: { url: p.url, method: 'GET', headers: {}, insecure: p.insecure },
            expectStatus: p.status,
            ...(p.body !== undefined ? { bodyPattern: p.body } : {}),
            ...(p.watch ? { guard: watchGuard(p.watch) } : {}),
          },
        },
      ],
    };
  },
});
