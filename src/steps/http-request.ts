import { z } from 'zod';
import { defineKind } from './kind.js';
import { word } from './params.js';
import { httpUrl, statusCodes } from './support.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** 200..399: any success or redirect. */
const SUCCESS_OR_REDIRECT = Array.from({ length: 200 }, (_, i) => 200 + i);

const params = z
  .object({
    url: httpUrl.describe('URL requested from the controller, e.g. http://10.0.0.12:8080/'),
    method: z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(METHODS))
      .default('GET')
      .describe('HTTP method (default GET)'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name'), word)
      .optional()
      .describe('request headers; values may hold secrets (e.g. Authorization)'),
    body: word.optional().describe('request body'),
    status: statusCodes.optional().describe('answers that count as success (default 200 to 399)'),
    insecure: z
      .boolean()
      .default(false)
      .describe('skip TLS certificate verification (self-signed certificates)'),
  })
  .strict();

/**
 * `http.request`: one request from the controller; fails unless the answer is in `status`.
 * Read-only with GET, HEAD or OPTIONS. Example: `{ url: 'http://10.0.0.12:8080/' }` (the seed's
 * "make a request to the node so it starts").
 */
export const httpRequest = defineKind({
  name: 'http.request',
  summary:
    'Send one HTTP request from the controller and fail unless it answers an expected status (default 200-399); read-only with GET/HEAD/OPTIONS.',
  params,
  intent: (p) => ({ does: `${p.method} ${String(p.url)} from the controller` }),
  readOnlyFor: (p) => SAFE_METHODS.has(p.method),
  plan(p) {
    return {
      actions: [
        {
          type: 'http',
          request: {
            url: p.url,
            method: p.method,
            headers: p.headers ?? {},
            ...(p.body !== undefined ? { body: p.body } : {}),
            insecure: p.insecure,
          },
          expectStatus: p.status ?? SUCCESS_OR_REDIRECT,
        },
      ],
    };
  },
});
